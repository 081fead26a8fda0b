package daemon

import (
	"os"
	"strings"
	"testing"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// runReports reads a run's two phase reports and its run report.
func runReports(t *testing.T, s *fakeStream) (phases []*arcanosv1.PhaseReport, run *arcanosv1.RunReport) {
	t.Helper()
	for run == nil {
		m := s.next(t)
		switch {
		case m.GetPhase() != nil:
			phases = append(phases, m.GetPhase())
		case m.GetRun() != nil:
			run = m.GetRun()
		default:
			t.Fatalf("unexpected message %v", m)
		}
	}
	return phases, run
}

// A controller that takes phases by reference gets the run report without
// them; one that does not gets it whole. Both learn how many phase reports
// the result is made of.
func TestRunReportLeavesOutThePhasesOnlyForAControllerThatHoldsThem(t *testing.T) {
	for _, byRef := range []bool{true, false} {
		name := "whole"
		if byRef {
			name = "by reference"
		}
		t.Run(name, func(t *testing.T) {
			fc := newFakeController(t)
			fc.byRef.Store(byRef)
			fc.ack.Store(true)
			newAgent(t, testSettings(t, enrollHost(t, fc, "web-1", nil))).start(t)
			s := fc.nextStream(t)
			s.send(runCommand("run-1", true, "detect", "startup"))

			phases, run := runReports(t, s)

			if len(phases) != 2 || phases[0].GetSeq() != 1 || phases[1].GetSeq() != 2 {
				t.Fatalf("phase reports %v, want seq 1 and 2", phases)
			}
			if run.GetPhasesReported() != 2 {
				t.Errorf("phases_reported %d, want 2", run.GetPhasesReported())
			}
			want := 2
			if byRef {
				want = 0
			}
			if n := len(run.GetResult().GetPhases()); n != want {
				t.Errorf("run report carries %d phases, want %d", n, want)
			}
			if run.GetResult().GetSummary() == nil || run.GetResult().GetStatus() == arcanosv1.PhaseStatus_PHASE_STATUS_UNSPECIFIED {
				t.Errorf("run report lost its summary or status: %v", run.GetResult())
			}
		})
	}
}

// A phase report that cannot be re-sent (its spool file went bad) was never
// stored by the controller: the run report must then carry the phases
// itself, or the controller would hold a result with a phase missing.
func TestRunReportIsSentWholeWhenAPhaseReportCannotBeResent(t *testing.T) {
	fc := newFakeController(t)
	fc.byRef.Store(true)
	st := testSettings(t, enrollHost(t, fc, "web-1", nil))
	newAgent(t, st).start(t)
	s1 := fc.nextStream(t)
	s1.send(runCommand("run-1", true, "detect", "startup"))
	if _, run := runReports(t, s1); len(run.GetResult().GetPhases()) != 0 {
		t.Fatalf("first stream: run report carries %d phases, want them by reference",
			len(run.GetResult().GetPhases()))
	}

	// Nothing was acknowledged; the first phase report's file goes bad.
	if err := os.WriteFile(firstPhaseFile(t, st.Fleet.StateDir), []byte("not a report"), 0o600); err != nil {
		t.Fatal(err)
	}
	s1.close()

	s2 := fc.nextStream(t)
	phases, run := runReports(t, s2)
	if len(phases) != 1 || phases[0].GetSeq() != 2 {
		t.Fatalf("after reconnecting want only phase 2 re-sent, got %v", phases)
	}
	if n := len(run.GetResult().GetPhases()); n != 2 {
		t.Fatalf("run report after a lost phase report carries %d phases, want both", n)
	}
}

// A reviewer's case: a phase report's spool file is deleted while the
// agent is stopped. It was never acknowledged, so the restarted agent must
// not take its absence for an ack: the run report goes whole, keeping the
// findings the spool still has in it.
func TestRunReportIsSentWholeWhenAPhaseReportLeftTheSpoolUnacknowledged(t *testing.T) {
	fc := newFakeController(t)
	fc.byRef.Store(true)
	st := testSettings(t, enrollHost(t, fc, "web-1", nil))
	a := newAgent(t, st).start(t)
	s1 := fc.nextStream(t)
	s1.send(runCommand("run-1", true, "detect", "startup"))
	if _, run := runReports(t, s1); len(run.GetResult().GetPhases()) != 0 {
		t.Fatalf("first stream: run report carries %d phases, want them by reference",
			len(run.GetResult().GetPhases()))
	}
	a.stop(t)

	if err := os.Remove(firstPhaseFile(t, st.Fleet.StateDir)); err != nil {
		t.Fatal(err)
	}

	newAgent(t, st).start(t)
	s2 := fc.nextStream(t)
	phases, run := runReports(t, s2)
	if len(phases) != 1 || phases[0].GetSeq() != 2 {
		t.Fatalf("after the restart want only phase 2 re-sent, got %v", phases)
	}
	if n := len(run.GetResult().GetPhases()); n != 2 {
		t.Fatalf("run report after a phase report left the spool unacknowledged carries %d phases, want both", n)
	}
}

// firstPhaseFile returns the spool file of the oldest phase report.
func firstPhaseFile(t *testing.T, stateDir string) string {
	t.Helper()
	var first string
	for _, f := range spoolFiles(t, stateDir) {
		if strings.HasSuffix(f, "-phase"+spoolExt) && (first == "" || f < first) {
			first = f
		}
	}
	if first == "" {
		t.Fatal("no phase report in the spool")
	}
	return first
}
