package fleetsim

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// allowlistFile is the repository's starting allowlist.
const allowlistFile = "../../config/authorized-services.json"

// Twenty agents report a dry run both ways: by reference (phases once, in
// their phase reports) and whole (as agents before phases_by_reference).
// Either way every result is stored whole, which Bench checks through
// GetRun; what the operator's stream carries shows which way was used.
func TestBenchStoresEveryResultOfTwentyEnrolledAgents(t *testing.T) {
	for _, tc := range []struct {
		name  string
		whole bool
		// payload bounds the bytes of phases and results the events
		// carried, in results' worth.
		payloadMin, payloadMax float64
	}{
		{"by reference", false, 19, 21},
		{"whole", true, 39, 41},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Bench(t.Context(), BenchOptions{
				ControllerBin: controllerBin, Agents: 20, Enroll: true, PhaseDelay: 0,
				AllowlistFile: allowlistFile, WorkDir: t.TempDir(), WholeReports: tc.whole,
			})
			if err != nil {
				t.Fatalf("bench of 20 agents: %v", err)
			}

			// Bench itself failed unless GetRun showed 20 hosts FINISHED, each
			// with a stored result holding every finding; these are what the
			// operator and the agents saw on the way.
			want := map[string]int{"queued": 20, "running": 20, "phase_done": 120, "finished": 20}
			for state, n := range want {
				if rep.Events[state] != n {
					t.Errorf("%s events: %d, want %d (all: %v)", state, rep.Events[state], n, rep.Events)
				}
			}
			if rep.Tally.Commands != 20 || rep.Tally.PhaseAcks != 120 || rep.Tally.FinalAcks != 20 {
				t.Errorf("agents saw %+v, want 20 commands, 120 phase acks, 20 final acks", rep.Tally)
			}
			results := float64(rep.EventPayload) / float64(rep.ResultBytes)
			if results < tc.payloadMin || results > tc.payloadMax {
				t.Errorf("events carried %d bytes of phases and results, %.2f results' worth; want %.0f to %.0f",
					rep.EventPayload, results, tc.payloadMin, tc.payloadMax)
			}
			if rep.Connected.RSS == 0 || rep.After.HWM < rep.Connected.RSS {
				t.Errorf("controller memory not read: %+v then %+v", rep.Connected, rep.After)
			}
			if rep.StoreBytes < int64(20*rep.ResultBytes) {
				t.Errorf("store file %d bytes, smaller than the 20 results stored", rep.StoreBytes)
			}
		})
	}
}

func TestRealRunIsRefusedByEverySimulatedAgent(t *testing.T) {
	ctl, err := StartController(ControllerOptions{Bin: controllerBin, DataDir: filepath.Join(t.TempDir(), "data")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ctl.Stop(); err != nil {
			t.Error(err)
		}
	})
	op, err := DialOperator(ctl.Addr, ctl.CLIConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = op.Close() })
	doc, err := os.ReadFile(allowlistFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.SetAllowlist(t.Context(), doc); err != nil {
		t.Fatal(err)
	}

	fleet := newTestFleet(t, ctl, Hostnames("refuser", 5))
	p, err := op.StartPurge(t.Context(), "refuser-*", false)
	if err != nil {
		t.Fatal(err)
	}

	for host, s := range p.Final {
		if s != arcanosv1.HostRunState_HOST_RUN_STATE_REFUSED {
			t.Errorf("host %s ended %s, want REFUSED", host, s)
		}
	}
	if len(p.Final) != 5 || fleet.Tally(p.RunID).Refused != 5 {
		t.Errorf("%d hosts in the run, %d refusals sent; want 5 of each", len(p.Final), fleet.Tally(p.RunID).Refused)
	}
}

// newTestFleet connects one agent per host, with certificates signed by
// the controller's CA, answering at once.
func newTestFleet(t *testing.T, ctl *Controller, hosts []string) *Fleet {
	t.Helper()
	iss, err := NewCAIssuer(ctl.PKIDir())
	if err != nil {
		t.Fatal(err)
	}
	roots, err := caPool(ctl)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := CapturedResult()
	if err != nil {
		t.Fatal(err)
	}
	ans, err := NewAnswer(tmpl, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := New(Options{Addr: ctl.Addr, RootCAs: roots, Hosts: hosts, Answer: ans, Issuer: iss,
		WelcomeTimeout: 20 * time.Second})
	t.Cleanup(f.Close)
	if err := f.Identify(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := f.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	return f
}
