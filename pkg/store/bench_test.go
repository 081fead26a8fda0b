package store

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"
)

// BenchmarkPutResult1000 stores 1000 hosts' realistic six-phase results
// from 1000 goroutines at once, the shape of a fleet-wide dry run landing,
// into a real bbolt file. One op is all 1000 results durable.
func BenchmarkPutResult1000(b *testing.B) {
	s, _ := openTestStore(b)
	results := hostResults("bench", 1000)

	i := 0
	for b.Loop() {
		b.StopTimer()
		runID := fmt.Sprintf("bench-%d", i)
		i++
		mustDo(b, s.CreateRun(b.Context(), newRun(runID, t0)))
		b.StartTimer()

		putConcurrently(b, s, runID, results)
	}

	b.ReportMetric(float64(proto.Size(results[0])), "bytes/result")
}
