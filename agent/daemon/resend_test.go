package daemon

import (
	"path/filepath"
	"testing"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func TestUnackedReportsAreResentAfterTheStreamIsDropped(t *testing.T) {
	fc := newFakeController(t)
	st := testSettings(t, enrollHost(t, fc, "web-1", nil))
	a := newAgent(t, st).start(t)

	s1 := fc.nextStream(t)
	s1.send(runCommand("run-1", true, "detect"))
	first := []*arcanosv1.ConnectRequest{s1.next(t), s1.next(t)}
	if first[0].GetPhase() == nil || first[1].GetRun() == nil {
		t.Fatalf("want a phase report then the run report, got %v", first)
	}
	if n := len(spoolFiles(t, st.Fleet.StateDir)); n != 2 {
		t.Fatalf("%d spool files, want the 2 unacked reports", n)
	}

	fc.ack.Store(true)
	s1.close()
	s2 := fc.nextStream(t)
	again := []*arcanosv1.ConnectRequest{s2.next(t), s2.next(t)}
	if again[0].GetPhase().GetSeq() != 1 || again[0].GetPhase().GetRunId() != "run-1" ||
		again[1].GetRun().GetRunId() != "run-1" {
		t.Fatalf("after reconnecting want phase 1 then the result of run-1 again, got %v", again)
	}
	if again[1].GetRun().GetResult().GetStartedAt().AsTime() != first[1].GetRun().GetResult().GetStartedAt().AsTime() {
		t.Error("the re-sent result must be the same result, not a new run")
	}
	eventually(t, "acked reports leave the spool", func() bool { return len(spoolFiles(t, st.Fleet.StateDir)) == 0 })
	if a.spool.Len() != 0 {
		t.Errorf("spool index holds %d reports after the acks", a.spool.Len())
	}
}

func TestUnackedReportsSurviveARestartOfTheAgent(t *testing.T) {
	fc := newFakeController(t)
	st := testSettings(t, enrollHost(t, fc, "web-1", nil))
	a := newAgent(t, st).start(t)

	s1 := fc.nextStream(t)
	s1.send(runCommand("run-1", true, "detect"))
	s1.next(t)
	want := s1.next(t).GetRun()
	a.stop(t)
	if n := len(spoolFiles(t, st.Fleet.StateDir)); n != 2 {
		t.Fatalf("%d spool files after the stop, want 2", n)
	}

	fc.ack.Store(true)
	newAgent(t, st).start(t)
	s2 := fc.nextStream(t)
	var got *arcanosv1.RunReport
	for got == nil {
		got = s2.next(t).GetRun()
	}
	if got.GetRunId() != want.GetRunId() || len(got.GetResult().GetPhases()) != 1 {
		t.Fatalf("the restarted agent sent %v, want the result of run-1", got)
	}
	eventually(t, "acked reports leave the spool", func() bool { return len(spoolFiles(t, st.Fleet.StateDir)) == 0 })
}

func TestStopDuringARunKeepsItsResultForTheNextStart(t *testing.T) {
	fc := newFakeController(t)
	st := testSettings(t, enrollHost(t, fc, "web-1", nil))
	a := newAgent(t, st)
	started, _ := blockingPurge(a)
	a.start(t)

	s := fc.nextStream(t)
	s.send(runCommand("run-1", true, "detect", "health"))
	<-started
	a.stop(t) // as SIGTERM does: the run's context ends with the daemon's

	sp, err := OpenSpool(filepath.Join(st.Fleet.StateDir, SpoolDir), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	req, err := sp.Read(ReportKey{RunID: "run-1", Final: true})
	if err != nil {
		t.Fatalf("the stopped run's result must be spooled: %v", err)
	}
	if req.GetRun().GetResult().GetStatus() == arcanosv1.PhaseStatus_PHASE_STATUS_OK {
		t.Error("a run cut short by a stop must not report OK")
	}
}

func TestHelloAfterAReconnectNamesTheRunInProgress(t *testing.T) {
	fc := newFakeController(t)
	a := newAgent(t, testSettings(t, enrollHost(t, fc, "web-1", nil)))
	started, release := blockingPurge(a)
	a.start(t)

	s1 := fc.nextStream(t)
	if s1.hello.GetRunningRunId() != "" {
		t.Errorf("first hello names run %q, want none", s1.hello.GetRunningRunId())
	}
	s1.send(runCommand("run-1", true, "detect"))
	<-started
	s1.close()
	s2 := fc.nextStream(t)
	if s2.hello.GetRunningRunId() != "run-1" {
		t.Errorf("hello after the reconnect names run %q, want run-1", s2.hello.GetRunningRunId())
	}
	close(release)
	for s2.next(t).GetRun() == nil {
	}
}
