package fleetsim

import (
	"flag"
	"testing"
)

var benchAgents = flag.Int("agents", 1000, "simulated agents in BenchmarkFleet")

// BenchmarkFleet is the fleet benchmark as a Go benchmark:
//
//	go test -run '^$' -bench Fleet ./test/fleetsim -args -agents 2000
//
// Each iteration starts a controller on a new data dir and connects the
// agents; ns/op is only the measured part, dispatch until every result is
// durable. scripts/bench-fleet.sh prints the full report instead.
func BenchmarkFleet(b *testing.B) {
	for range b.N {
		rep, err := Bench(b.Context(), BenchOptions{
			ControllerBin: controllerBin, Agents: *benchAgents, Enroll: false,
			PhaseDelay: DelayCapture, AllowlistFile: allowlistFile, WorkDir: b.TempDir(),
		})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rep.ToComplete.Nanoseconds()), "ns/op")
		b.ReportMetric(rep.Ratio(), "target-ratio")
		b.ReportMetric(rep.PerAgent()/1024, "KiB/agent")
		b.ReportMetric(mib(rep.After.HWM), "MiB-peak-rss")
	}
}
