package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/purge"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// leaveRunMarker leaves the marker a process of the agent killed during
// run id would have left.
func leaveRunMarker(t *testing.T, stateDir, id string) {
	t.Helper()
	data, err := json.Marshal(runMarker{RunID: id, DryRun: true, StartedAt: time.Now().Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(State{Dir: stateDir}.Path(RunMarkerFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// nextReport reads the agent's next report, skipping heartbeats.
func nextReport(t *testing.T, s *fakeStream) *arcanosv1.ConnectRequest {
	t.Helper()
	m := s.next(t)
	if m.GetRun() == nil && m.GetPhase() == nil {
		t.Fatalf("want a report, got %v", m)
	}
	return m
}

func TestAgentStoppedDuringARunReportsItFailedAtItsNextStart(t *testing.T) {
	fc := newFakeController(t)
	fc.ack.Store(true)
	st := testSettings(t, enrollHost(t, fc, "web-1", nil))
	leaveRunMarker(t, st.Fleet.StateDir, "run-9")
	newAgent(t, st).start(t)
	s := fc.nextStream(t)

	rep := nextReport(t, s).GetRun()
	res := rep.GetResult()
	if rep.GetRunId() != "run-9" || res.GetStatus() != arcanosv1.PhaseStatus_PHASE_STATUS_FAILED ||
		len(res.GetErrors()) != 1 || !strings.Contains(res.GetErrors()[0], "stopped during this run") {
		t.Fatalf("first report %v, want run-9 failed because the agent stopped during it", rep)
	}
	if !res.GetDryRun() || res.GetStartedAt() == nil || res.GetHost() != "web-1" {
		t.Errorf("lost run's result %v: want its mode, start and host from the marker", res)
	}
	if _, err := os.Stat(State{Dir: st.Fleet.StateDir}.Path(RunMarkerFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run marker left after the lost run was reported: %v", err)
	}

	// The same command sent again is not run again; the next one is.
	s.send(runCommand("run-9", true, "detect"))
	s.send(runCommand("run-10", true, "detect"))
	if got := nextReport(t, s); got.GetPhase().GetRunId() != "run-10" {
		t.Fatalf("after run-9 was sent again the agent reported %v, want run-10's phase", got)
	}
}

func TestStoppedAfterItsResultWasKeptReportsThatResultOnly(t *testing.T) {
	fc := newFakeController(t)
	fc.ack.Store(true)
	st := testSettings(t, enrollHost(t, fc, "web-1", nil))
	sp, err := OpenSpool(State{Dir: st.Fleet.StateDir}.Path(SpoolDir), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	kept := &arcanosv1.RunResult{RunId: "run-9", Host: "web-1", Status: arcanosv1.PhaseStatus_PHASE_STATUS_OK}
	if err := sp.Put(&arcanosv1.ConnectRequest{Msg: &arcanosv1.ConnectRequest_Run{
		Run: &arcanosv1.RunReport{RunId: "run-9", Result: kept}}}); err != nil {
		t.Fatal(err)
	}
	leaveRunMarker(t, st.Fleet.StateDir, "run-9")
	newAgent(t, st).start(t)
	s := fc.nextStream(t)

	if got := nextReport(t, s).GetRun(); got.GetRunId() != "run-9" ||
		got.GetResult().GetStatus() != arcanosv1.PhaseStatus_PHASE_STATUS_OK {
		t.Fatalf("first report %v, want run-9's kept result", got)
	}
	s.send(runCommand("run-10", true, "detect"))
	if got := nextReport(t, s); got.GetPhase().GetRunId() != "run-10" {
		t.Fatalf("after run-9's kept result the agent reported %v, want run-10's phase (no second run-9 result)", got)
	}
}

func TestRunMarkerLastsExactlyAsLongAsTheRun(t *testing.T) {
	fc := newFakeController(t)
	fc.ack.Store(true)
	st := testSettings(t, enrollHost(t, fc, "web-1", nil))
	a := newAgent(t, st)
	marked := make(chan string, 1)
	runPurge := a.runner.purge
	a.runner.purge = func(ctx context.Context, o purge.Options) (*arcanosv1.RunResult, error) {
		var m runMarker
		data, err := os.ReadFile(State{Dir: st.Fleet.StateDir}.Path(RunMarkerFile))
		if err == nil {
			err = json.Unmarshal(data, &m)
		}
		if err != nil {
			marked <- err.Error()
		} else {
			marked <- m.RunID
		}
		return runPurge(ctx, o)
	}
	a.start(t)
	s := fc.nextStream(t)
	s.send(runCommand("run-1", true, "detect"))
	for nextReport(t, s).GetRun() == nil {
	}
	if got := <-marked; got != "run-1" {
		t.Errorf("during the run the marker read %q, want run-1", got)
	}
	eventually(t, "the run marker is removed", func() bool {
		_, err := os.Stat(State{Dir: st.Fleet.StateDir}.Path(RunMarkerFile))
		return errors.Is(err, os.ErrNotExist)
	})
}
