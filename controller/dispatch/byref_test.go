package dispatch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/store"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// byRefFixture is an engine on a real bbolt store with one run over one
// host, hosts[0], dispatched and RUNNING.
type byRefFixture struct {
	st    *store.Bolt
	e     *Engine
	runID string
	host  string
	w     *Watch
}

func newByRefFixture(t *testing.T, path string) *byRefFixture {
	t.Helper()
	st, err := store.OpenBolt(path, store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	hosts := newFleetHosts(1)
	e := New(Options{Store: st, Hosts: hosts, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(e.Close)
	rec, w, err := e.Start(t.Context(), Request{Selector: &arcanosv1.Selector{Hosts: "*"}, DryRun: true,
		StartedBy: "test"}, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	hosts.sent.Wait()
	return &byRefFixture{st: st, e: e, runID: rec.GetRunId(), host: hosts.hosts[0].GetHostId(), w: w}
}

// restart closes the engine and the store as a stopping controller does,
// then opens them again on the same file and recovers, as the next
// controller does.
func (f *byRefFixture) restart(t *testing.T, path string) (*store.Bolt, *Engine) {
	t.Helper()
	f.w.Close()
	f.e.Close()
	if err := f.st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenBolt(path, store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := New(Options{Store: st, Hosts: newFleetHosts(1), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(e.Close)
	if err := e.Recover(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st, e
}

// finalEvent reads the watch until the host's final event.
func (f *byRefFixture) finalEvent(t *testing.T) *arcanosv1.PurgeEvent {
	t.Helper()
	for ev := range f.w.Events() {
		if ev.GetHost() == f.host && isFinal(ev.GetState()) {
			return ev
		}
	}
	t.Fatalf("watch ended without a final event for %s: %v", f.host, f.w.Err())
	return nil
}

// sixPhases is a dry run's phases; detect holds one unauthorized finding.
func sixPhases() []*arcanosv1.PhaseResult {
	var out []*arcanosv1.PhaseResult
	for _, name := range phaseNames {
		p := &arcanosv1.PhaseResult{Name: name, Status: arcanosv1.PhaseStatus_PHASE_STATUS_OK}
		if name == "detect" {
			p.Findings = []*arcanosv1.Finding{{Kind: "process",
				Subject: "miner", Verdict: arcanosv1.Verdict_VERDICT_UNAUTHORIZED}}
		}
		out = append(out, p)
	}
	return out
}

func slimResult(runID, host string) *arcanosv1.RunResult {
	return &arcanosv1.RunResult{RunId: runID, Host: host, DryRun: true,
		Status: arcanosv1.PhaseStatus_PHASE_STATUS_OK, Summary: &arcanosv1.RunSummary{Unauthorized: 1}}
}

func (f *byRefFixture) storePhases(t *testing.T, phases []*arcanosv1.PhaseResult, skip int32) {
	t.Helper()
	for i, p := range phases {
		seq := int32(i + 1)
		if seq == skip {
			continue
		}
		if err := f.e.StorePhase(t.Context(), f.host, &arcanosv1.PhaseReport{RunId: f.runID, Seq: seq,
			Phase: p}); err != nil {
			t.Fatal(err)
		}
	}
}

// A result sent without its phases is judged by the phase reports stored
// for its host, and read back whole.
func TestResultByReferenceIsJudgedByItsStoredPhases(t *testing.T) {
	failedSource := func(ps []*arcanosv1.PhaseResult) []*arcanosv1.PhaseResult {
		ps[0].Sources = []*arcanosv1.SourceResult{{Name: "docker",
			Status: arcanosv1.PhaseStatus_PHASE_STATUS_FAILED, Reason: "daemon gone"}}
		return ps
	}
	cases := []struct {
		name     string
		phases   []*arcanosv1.PhaseResult
		skip     int32 // a phase report that never reached the controller
		reported int32
		state    arcanosv1.HostRunState
		detail   string
	}{
		{"every phase stored", sixPhases(), 0, 6,
			arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED, "1 unauthorized"},
		{"a phase never arrived", sixPhases(), 3, 6,
			arcanosv1.HostRunState_HOST_RUN_STATE_FAILED, "phase report(s) 3 of 6 never reached the controller"},
		{"a stored phase had a failed source", failedSource(sixPhases()), 0, 6,
			arcanosv1.HostRunState_HOST_RUN_STATE_FAILED, "detect source docker failed: daemon gone"},
		{"more phases named than a result may refer to", sixPhases(), 0, maxTrackedSeq + 1,
			arcanosv1.HostRunState_HOST_RUN_STATE_FAILED, "more than the 32"},
		// A second reviewer's cases: a spooled report overwritten by another
		// phase's, and one whose findings were doubled.
		{"a phase reported twice in place of another", func() []*arcanosv1.PhaseResult {
			ps := sixPhases()
			ps[2] = sixPhases()[3]
			return ps
		}(), 0, 6, arcanosv1.HostRunState_HOST_RUN_STATE_FAILED, "phase caches reported twice (seq 3 and 4)"},
		{"findings doubled", func() []*arcanosv1.PhaseResult {
			ps := sixPhases()
			ps[0].Findings = append(ps[0].Findings, ps[0].Findings...)
			return ps
		}(), 0, 6, arcanosv1.HostRunState_HOST_RUN_STATE_FAILED,
			"the result counts 1 unauthorized, 0 authorized, 0 actions done; its phase reports hold 2, 0, 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newByRefFixture(t, filepath.Join(t.TempDir(), "arcanos.db"))
			f.storePhases(t, c.phases, c.skip)

			err := f.e.StoreResult(t.Context(), f.host, &arcanosv1.RunReport{RunId: f.runID,
				Result: slimResult(f.runID, f.host), PhasesReported: c.reported})
			if err != nil {
				t.Fatal(err)
			}

			ev := f.finalEvent(t)
			if ev.GetState() != c.state || !strings.Contains(ev.GetDetail(), c.detail) {
				t.Fatalf("final event %s %q, want %s containing %q", ev.GetState(), ev.GetDetail(), c.state, c.detail)
			}
			if n := len(ev.GetResult().GetPhases()); n != 0 {
				t.Errorf("FINISHED event carries %d phases; the PHASE_DONE events carried them", n)
			}
			results, err := f.st.Results(t.Context(), f.runID)
			if err != nil {
				t.Fatal(err)
			}
			want := len(c.phases)
			if c.skip > 0 {
				want--
			}
			if len(results) != 1 || len(results[0].GetPhases()) != want {
				t.Fatalf("results read back: %d, phases %d, want 1 result of %d phases", len(results),
					len(results[0].GetPhases()), want)
			}
			if got := results[0].GetPhases()[0].GetFindings(); len(got) < 1 || got[0].GetSubject() != "miner" {
				t.Errorf("detect findings read back: %v", got)
			}
		})
	}
}

// A whole result (an agent that does not send by reference) is judged by
// its own phases, as before.
func TestWholeResultIsJudgedByItsOwnPhases(t *testing.T) {
	f := newByRefFixture(t, filepath.Join(t.TempDir(), "arcanos.db"))
	f.storePhases(t, sixPhases(), 0)
	res := slimResult(f.runID, f.host)
	res.Phases = sixPhases()
	res.Phases[5].Status = arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT

	if err := f.e.StoreResult(t.Context(), f.host, &arcanosv1.RunReport{RunId: f.runID, Result: res,
		PhasesReported: 6}); err != nil {
		t.Fatal(err)
	}

	ev := f.finalEvent(t)
	if ev.GetState() != arcanosv1.HostRunState_HOST_RUN_STATE_FAILED ||
		!strings.Contains(ev.GetDetail(), "phase health timed_out") {
		t.Fatalf("final event %s %q, want FAILED for the timed-out health phase", ev.GetState(), ev.GetDetail())
	}
	if n := len(ev.GetResult().GetPhases()); n != 6 {
		t.Errorf("FINISHED event of a whole result carries %d phases, want 6", n)
	}
}

// After a controller restart the run is no longer active: a result sent
// by reference is judged from the phases read back from the store.
func TestResultByReferenceAfterARestartIsJudgedFromTheStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "arcanos.db")
	f := newByRefFixture(t, path)
	phases := sixPhases()
	phases[1].Status = arcanosv1.PhaseStatus_PHASE_STATUS_FAILED
	f.storePhases(t, phases, 4)
	st, e := f.restart(t, path)
	ctx := context.Background()

	// Until its agent re-sends its result, the host failed by the restart
	// keeps the phases it reported, under the controller's account.
	kept, err := st.Results(ctx, f.runID)
	if err != nil || len(kept) != 1 || len(kept[0].GetPhases()) != 5 ||
		!strings.Contains(kept[0].GetErrors()[0], "the controller's account") {
		t.Fatalf("results after the restart: %v %v, want the controller's account with 5 phases", kept, err)
	}

	if err := e.StoreResult(ctx, f.host, &arcanosv1.RunReport{RunId: f.runID,
		Result: slimResult(f.runID, f.host), PhasesReported: 6}); err != nil {
		t.Fatal(err)
	}
	e.events.flush()

	events, err := st.Events(ctx, f.runID)
	if err != nil {
		t.Fatal(err)
	}
	last := events[len(events)-1]
	for _, want := range []string{"result re-sent after the controller restarted", "phase terminate failed",
		"phase report(s) 4 of 6 never reached the controller"} {
		if !strings.Contains(last.GetDetail(), want) {
			t.Errorf("last event %s %q, want it to contain %q", last.GetState(), last.GetDetail(), want)
		}
	}
	if last.GetState() != arcanosv1.HostRunState_HOST_RUN_STATE_FAILED {
		t.Errorf("last event state %s, want FAILED", last.GetState())
	}
}

// A reviewer's case: after a controller restart, phase 3 is missing and a
// copy of phase 6 is stored as seq 7. Counting the stored phases (6 of 6)
// read that as complete; each seq must be checked, live and after a
// restart alike.
func TestResultByReferenceWithAPhaseMissingAndOneExtraIsPartial(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "arcanos.db")
			f := newByRefFixture(t, path)
			phases := append(sixPhases(), sixPhases()[5])
			f.storePhases(t, phases, 3)
			st, e := f.st, f.e
			if restart {
				st, e = f.restart(t, path)
			}

			if err := e.StoreResult(t.Context(), f.host, &arcanosv1.RunReport{RunId: f.runID,
				Result: slimResult(f.runID, f.host), PhasesReported: 6}); err != nil {
				t.Fatal(err)
			}
			e.events.flush()

			events, err := st.Events(t.Context(), f.runID)
			if err != nil {
				t.Fatal(err)
			}
			last := events[len(events)-1]
			for _, want := range []string{"phase report(s) 3 of 6 never reached the controller",
				"phase report(s) 7 stored beyond the 6 the result names"} {
				if !strings.Contains(last.GetDetail(), want) {
					t.Errorf("last event %s %q, want it to contain %q", last.GetState(), last.GetDetail(), want)
				}
			}
			if last.GetState() != arcanosv1.HostRunState_HOST_RUN_STATE_FAILED {
				t.Errorf("last event state %s, want FAILED", last.GetState())
			}
		})
	}
}

// An agent killed during a run reports it failed without a summary (the
// phases it sent before are gone from it); the controller counts what the
// stored phases found and did, so the history does not read "nothing found,
// nothing done" after a real purge acted (found by a fresh reviewer).
func TestLostRunIsCountedFromItsStoredPhases(t *testing.T) {
	f := newByRefFixture(t, filepath.Join(t.TempDir(), "arcanos.db"))
	phases := sixPhases()[:2]
	phases[1].Actions = []*arcanosv1.Action{{Kind: "signal", Target: "miner",
		State: arcanosv1.ActionState_ACTION_STATE_DONE}}
	f.storePhases(t, phases, 0)

	lost := &arcanosv1.RunResult{RunId: f.runID, Host: f.host, DryRun: true,
		Status: arcanosv1.PhaseStatus_PHASE_STATUS_FAILED, Errors: []string{"the agent stopped during this run"}}
	if err := f.e.StoreResult(t.Context(), f.host, &arcanosv1.RunReport{RunId: f.runID, Result: lost}); err != nil {
		t.Fatal(err)
	}

	ev := f.finalEvent(t)
	if s := ev.GetResult().GetSummary(); ev.GetState() != arcanosv1.HostRunState_HOST_RUN_STATE_FAILED ||
		s.GetUnauthorized() != 1 || s.GetActionsDone() != 1 {
		t.Fatalf("final event %s with summary %v, want FAILED counting 1 unauthorized and 1 action done",
			ev.GetState(), s)
	}
	results, err := f.st.Results(t.Context(), f.runID)
	if err != nil || len(results) != 1 || results[0].GetSummary().GetActionsDone() != 1 ||
		len(results[0].GetPhases()) != 2 {
		t.Fatalf("stored result %v %v, want the counted summary and the 2 stored phases", results, err)
	}
}

// A host failed at its deadline after reporting some phases gets a failed
// result of the controller's own, counted from those phases, so runs show
// and runs diff see what they found; a result its agent sends later
// replaces it (a fresh reviewer saw "-" for such hosts).
func TestHostFailedAtItsDeadlineKeepsThePhasesItReported(t *testing.T) {
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "arcanos.db"), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	hosts := newFleetHosts(1)
	e := New(Options{Store: st, Hosts: hosts, Grace: time.Millisecond,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(e.Close)
	rec, w, err := e.Start(t.Context(), Request{Selector: &arcanosv1.Selector{Hosts: "*"}, DryRun: true,
		StartedBy: "test", Timeout: time.Second}, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	hosts.sent.Wait()
	f := &byRefFixture{st: st, e: e, runID: rec.GetRunId(), host: hosts.hosts[0].GetHostId(), w: w}
	f.storePhases(t, sixPhases()[:1], 0)

	ev := f.finalEvent(t) // the deadline passes: no result came
	if ev.GetState() != arcanosv1.HostRunState_HOST_RUN_STATE_FAILED || !strings.Contains(ev.GetDetail(), "no result by its deadline") {
		t.Fatalf("final event %s %q, want FAILED at the deadline", ev.GetState(), ev.GetDetail())
	}
	for range w.Events() { // the run ends once its results are stored
	}
	results, err := st.Results(t.Context(), f.runID)
	if err != nil || len(results) != 1 {
		t.Fatalf("results %v %v, want the controller's partial result", results, err)
	}
	got := results[0]
	if got.GetStatus() != arcanosv1.PhaseStatus_PHASE_STATUS_FAILED || len(got.GetPhases()) != 1 ||
		got.GetSummary().GetUnauthorized() != 1 || !strings.Contains(got.GetErrors()[0], "the controller's account") {
		t.Fatalf("partial result %v, want FAILED with the detect phase counted", got)
	}

	// The agent's own result, late, replaces the controller's account.
	late := slimResult(f.runID, f.host)
	late.Phases = sixPhases()
	if err := e.StoreResult(t.Context(), f.host, &arcanosv1.RunReport{RunId: f.runID, Result: late}); err != nil {
		t.Fatal(err)
	}
	if results, _ = st.Results(t.Context(), f.runID); len(results[0].GetPhases()) != 6 ||
		results[0].GetStatus() != arcanosv1.PhaseStatus_PHASE_STATUS_OK {
		t.Fatalf("after the late result: %v, want the agent's 6 phases", results[0])
	}
}

// A third reviewer's cases, live: results whose phases do not make the run
// that was asked for, or contradict their own counts.
func TestResultsThatDoNotMakeTheRunAskedForArePartial(t *testing.T) {
	dup := sixPhases()
	dup[5] = sixPhases()[4]
	cases := []struct {
		name   string
		stored int // phase reports stored, seq 1..stored
		rep    func(f *byRefFixture) *arcanosv1.RunReport
		detail string
	}{
		{"by reference, fewer phase reports than phases asked for", 5, func(f *byRefFixture) *arcanosv1.RunReport {
			return &arcanosv1.RunReport{RunId: f.runID, Result: slimResult(f.runID, f.host), PhasesReported: 5}
		}, "phase(s) health asked for but not in the result"},
		{"whole, counts that contradict its phases", 0, func(f *byRefFixture) *arcanosv1.RunReport {
			res := slimResult(f.runID, f.host)
			res.Phases, res.Summary = sixPhases(), &arcanosv1.RunSummary{}
			return &arcanosv1.RunReport{RunId: f.runID, Result: res}
		}, "the result counts 0 unauthorized, 0 authorized, 0 actions done; its phase reports hold 1, 0, 0"},
		{"whole, a phase twice", 0, func(f *byRefFixture) *arcanosv1.RunReport {
			res := slimResult(f.runID, f.host)
			res.Phases = dup
			return &arcanosv1.RunReport{RunId: f.runID, Result: res}
		}, "phase services reported twice (seq 5 and 6)"},
		{"a real result for a dry run", 6, func(f *byRefFixture) *arcanosv1.RunReport {
			res := slimResult(f.runID, f.host)
			res.DryRun = false
			return &arcanosv1.RunReport{RunId: f.runID, Result: res, PhasesReported: 6}
		}, "the result says dry_run=false, the run was dry_run=true"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newByRefFixture(t, filepath.Join(t.TempDir(), "arcanos.db"))
			f.storePhases(t, sixPhases()[:c.stored], 0)
			if err := f.e.StoreResult(t.Context(), f.host, c.rep(f)); err != nil {
				t.Fatal(err)
			}
			ev := f.finalEvent(t)
			if ev.GetState() != arcanosv1.HostRunState_HOST_RUN_STATE_FAILED || !strings.Contains(ev.GetDetail(), c.detail) {
				t.Fatalf("final event %s %q, want FAILED containing %q", ev.GetState(), ev.GetDetail(), c.detail)
			}
		})
	}
}
