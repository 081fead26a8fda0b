package server

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arcanos-dev/arcanos/controller/dispatch"
	"github.com/arcanos-dev/arcanos/pkg/allowlist"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func TestAgentDroppedMidRunFailsAtItsDeadline(t *testing.T) {
	f := start(t, testConfig(t))
	a := f.newAgent(t, "web-1", nil)

	ev := f.purge(t, &arcanosv1.StartPurgeRequest{
		Selector: &arcanosv1.Selector{Hosts: "web-1"}, DryRun: true, TimeoutSeconds: 1})
	cmd := a.command()
	a.phase(cmd.GetRunId(), 1, detect())
	a.disconnect()

	got := ev.until("web-1", failed)
	if !strings.Contains(got.GetDetail(), "no result by its deadline") ||
		!strings.Contains(got.GetDetail(), "disconnected") {
		t.Fatalf("failed event detail %q: want the deadline and the disconnect", got.GetDetail())
	}
	if err := ev.rest(); err != nil {
		t.Fatal(err)
	}
	if run := waitRun(t, f, cmd.GetRunId()); run.GetHosts()["web-1"] != failed {
		t.Fatalf("run hosts %v", run.GetHosts())
	}
}

func TestAgentReconnectingWithItsResultFinishes(t *testing.T) {
	f := start(t, testConfig(t))
	a := f.newAgent(t, "web-1", nil)

	ev := f.purge(t, &arcanosv1.StartPurgeRequest{
		Selector: &arcanosv1.Selector{Hosts: "web-1"}, DryRun: true, TimeoutSeconds: 600})
	cmd := a.command()
	a.disconnect()
	if e := ev.until("web-1", running); !strings.Contains(e.GetDetail(), "command sent") {
		t.Fatalf("first running event %q", e.GetDetail())
	}
	if e := ev.until("web-1", running); !strings.Contains(e.GetDetail(), "disconnected") {
		t.Fatalf("disconnect event %q", e.GetDetail())
	}

	a.connect(f)
	a.result(cmd.GetRunId(), resultOf(cmd.GetRunId(), "web-1", okStatus))
	ev.until("web-1", finished)
	if err := ev.rest(); err != nil {
		t.Fatal(err)
	}
}

func TestDiffRunsListsNewAndGoneFindings(t *testing.T) {
	f := start(t, testConfig(t))
	a := f.newAgent(t, "web-1", nil)

	runWith := func(procs ...string) string {
		ev := f.purge(t, &arcanosv1.StartPurgeRequest{Selector: &arcanosv1.Selector{Hosts: "web-1"}, DryRun: true})
		cmd := a.command()
		a.result(cmd.GetRunId(), resultOf(cmd.GetRunId(), "web-1", okStatus, detect(procs...)))
		if err := ev.rest(); err != nil {
			t.Fatal(err)
		}
		return cmd.GetRunId()
	}
	first := runWith("miner", "backdoor")
	second := runWith("backdoor", "proxy")

	diff, err := f.op.DiffRuns(ctx(t), &arcanosv1.DiffRunsRequest{RunId: second})
	if err != nil {
		t.Fatal(err)
	}
	if diff.GetBaseRunId() != first {
		t.Fatalf("base run %q, want the previous run over the same hosts %q", diff.GetBaseRunId(), first)
	}
	var got []string
	for _, c := range diff.GetChanges() {
		got = append(got, c.GetHost()+"/"+c.GetPhase()+"/"+c.GetChange()+"/"+c.GetFinding().GetSubject())
	}
	want := []string{"web-1/detect/gone/miner", "web-1/detect/new/proxy"}
	if !slices.Equal(got, want) {
		t.Fatalf("changes %v, want %v", got, want)
	}

	if _, err := f.op.DiffRuns(ctx(t), &arcanosv1.DiffRunsRequest{RunId: first}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("diff of the first run: %v, want FailedPrecondition (no earlier run)", err)
	}
}

func TestAllowlistVersionsAndOverlays(t *testing.T) {
	f := start(t, testConfig(t))
	web := f.newAgent(t, "web-1", map[string]string{"role": "web"})
	db := f.newAgent(t, "db-1", map[string]string{"role": "db"})

	if _, err := f.op.GetAllowlist(ctx(t), &arcanosv1.GetAllowlistRequest{}); status.Code(err) != codes.NotFound {
		t.Fatalf("allowlist before any was set: %v, want NotFound", err)
	}
	doc := `{
  "authorizedProcesses": ["sshd"],
  "overlays": {"role=web": {"authorizedProcesses": ["nginx", "sshd"], "authorizedServices": ["nginx"]}}
}`
	if v := setAllowlist(t, f, doc, 0); v.GetVersion() != 1 || v.GetChangedBy() != "admin" {
		t.Fatalf("first version %v", v)
	}

	// Compare-and-set: version 0 is no longer current.
	_, err := f.op.SetAllowlist(ctx(t), &arcanosv1.SetAllowlistRequest{
		Document: []byte(`{"authorizedProcesses": ["sshd"]}`), ExpectedVersion: 0})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("set with a stale version: %v, want FailedPrecondition", err)
	}
	// Validation by pkg/allowlist, in the base and in an overlay.
	for _, bad := range []string{
		`{"authorizedProcesse": ["sshd"]}`,
		`{"overlays": {"role=web": {"authorizedServices": ["bad name"]}}}`,
		`{"overlays": {"web": {}}}`,
	} {
		_, err := f.op.SetAllowlist(ctx(t), &arcanosv1.SetAllowlistRequest{Document: []byte(bad), ExpectedVersion: 1})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("set %s: %v, want InvalidArgument", bad, err)
		}
	}
	if !strings.Contains(status.Convert(setErr(t, f, `{"authorizedProcesse": ["sshd"]}`)).Message(), "did you mean authorizedProcesses?") {
		t.Error("a typo in a key is not explained the way the agent explains it")
	}
	hist, err := f.op.AllowlistHistory(ctx(t), &arcanosv1.AllowlistHistoryRequest{})
	if err != nil || len(hist.GetVersions()) != 1 {
		t.Fatalf("history %v %v, want the one stored version", hist, err)
	}

	ev := f.purge(t, &arcanosv1.StartPurgeRequest{Selector: &arcanosv1.Selector{Hosts: "*"}, DryRun: true})
	effective := map[string]*allowlist.Allowlist{}
	for name, a := range map[string]*agent{"web-1": web, "db-1": db} {
		cmd := a.command()
		if cmd.GetAllowlistVersion() != 1 {
			t.Errorf("%s got allowlist version %d, want 1", name, cmd.GetAllowlistVersion())
		}
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(cmd.GetAllowlistJson(), &keys); err != nil || keys["overlays"] != nil {
			t.Errorf("%s's effective allowlist still has overlays or is not JSON: %s", name, cmd.GetAllowlistJson())
		}
		al, err := allowlist.Parse(cmd.GetAllowlistJson(), name)
		if err != nil {
			t.Fatalf("%s's effective allowlist does not validate: %v", name, err)
		}
		effective[name] = al
		a.result(cmd.GetRunId(), resultOf(cmd.GetRunId(), name, okStatus))
	}
	if err := ev.rest(); err != nil {
		t.Fatal(err)
	}

	names := func(al *allowlist.Allowlist) []string {
		var out []string
		for _, p := range al.Processes {
			out = append(out, p.Name)
		}
		return out
	}
	if got := names(effective["web-1"]); !slices.Equal(got, []string{"sshd", "nginx"}) {
		t.Errorf("web-1 (role=web) processes %v, want sshd then nginx", got)
	}
	if got := effective["web-1"].Services; !slices.Equal(got, []string{"nginx"}) {
		t.Errorf("web-1 services %v, want nginx", got)
	}
	if got := names(effective["db-1"]); !slices.Equal(got, []string{"sshd"}) {
		t.Errorf("db-1 (role=db) processes %v, want only sshd", got)
	}
}

func setErr(t *testing.T, f *fixture, doc string) error {
	t.Helper()
	_, err := f.op.SetAllowlist(ctx(t), &arcanosv1.SetAllowlistRequest{Document: []byte(doc), ExpectedVersion: 1})
	return err
}

func TestRestartKeepsRunsAndMarksUnfinishedOnesInterrupted(t *testing.T) {
	cfg := testConfig(t)
	f := start(t, cfg)
	a := f.newAgent(t, "web-1", nil)

	// A finished run, then one in progress when the controller stops.
	ev := f.purge(t, &arcanosv1.StartPurgeRequest{Selector: &arcanosv1.Selector{Hosts: "web-1"}, DryRun: true})
	cmd := a.command()
	done := cmd.GetRunId()
	a.result(done, resultOf(done, "web-1", okStatus, detect("miner")))
	if err := ev.rest(); err != nil {
		t.Fatal(err)
	}

	ev = f.purge(t, &arcanosv1.StartPurgeRequest{Selector: &arcanosv1.Selector{Hosts: "web-1"}, DryRun: true})
	cmd = a.command()
	cut := cmd.GetRunId()
	a.phase(cut, 1, detect("miner"))
	ev.until("web-1", phaseDone)
	f.stop()
	if err := ev.rest(); status.Code(err) != codes.Aborted && status.Code(err) != codes.Unavailable {
		t.Fatalf("watch of a run cut by shutdown ended with %v, want Aborted or Unavailable", err)
	}
	a.endErr()

	g := start(t, cfg)
	runs, err := g.op.ListRuns(ctx(t), &arcanosv1.ListRunsRequest{})
	if err != nil || len(runs.GetRuns()) != 2 || runs.GetRuns()[0].GetRunId() != cut {
		t.Fatalf("runs after restart: %v %v, want both, newest first", runs.GetRuns(), err)
	}
	old, err := g.op.GetRun(ctx(t), &arcanosv1.GetRunRequest{RunId: done})
	if err != nil || old.GetRun().GetHosts()["web-1"] != finished || len(old.GetResults()) != 1 {
		t.Fatalf("finished run after restart: %v %v", old, err)
	}
	got, err := g.op.GetRun(ctx(t), &arcanosv1.GetRunRequest{RunId: cut})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetRun().GetFinishedAt() == nil || got.GetRun().GetHosts()["web-1"] != failed ||
		!strings.Contains(got.GetRun().GetDetail(), "interrupted") {
		t.Fatalf("interrupted run %v, want finished with web-1 failed and the detail saying interrupted", got.GetRun())
	}
	stored, err := g.c.store.Events(t.Context(), cut)
	if err != nil {
		t.Fatal(err)
	}
	last := stored[len(stored)-1]
	if last.GetState() != failed || last.GetDetail() != dispatch.RestartedDetail {
		t.Fatalf("last event %v, want FAILED %q", last, dispatch.RestartedDetail)
	}

	// The agent comes back and re-sends its result: stored, acked, and the
	// host that was failed only by the restart takes the result's state.
	a.connect(g)
	if ack := a.result(cut, resultOf(cut, "web-1", okStatus, detect("miner"))); !ack.GetFinal() {
		t.Fatalf("late result ack %v", ack)
	}
	got, err = g.op.GetRun(ctx(t), &arcanosv1.GetRunRequest{RunId: cut})
	if err != nil || len(got.GetResults()) != 1 ||
		got.GetRun().GetHosts()["web-1"] != arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED {
		t.Fatalf("after the re-sent result: %v %v, want it stored and web-1 finished", got, err)
	}
	if d := got.GetRun().GetDetail(); !strings.Contains(d, "interrupted") || !strings.Contains(d, "1 host(s): 1 finished") {
		t.Errorf("run detail after the re-sent result %q, want it interrupted and counting web-1 finished", d)
	}
}

func TestScheduledRunMarksOfflineHostsMissed(t *testing.T) {
	f := start(t, testConfig(t))
	a := f.newAgent(t, "web-1", nil)
	if _, err := f.enroll(t, "web-2", f.token(t, ""), nil); err != nil {
		t.Fatal(err)
	}

	run, w, err := f.c.engine.Start(t.Context(), dispatch.Request{
		Selector: &arcanosv1.Selector{Hosts: "web-*"}, DryRun: true,
		StartedBy: "schedule:nightly", Scheduled: true,
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	cmd := a.command()
	a.result(cmd.GetRunId(), resultOf(cmd.GetRunId(), "web-1", okStatus))
	final := map[string]arcanosv1.HostRunState{}
	for e := range w.Events() {
		final[e.GetHost()] = e.GetState()
	}
	if w.Err() != nil || final["web-2"] != missed || final["web-1"] != finished {
		t.Fatalf("scheduled run %s: %v (%v), want web-1 finished and web-2 missed", run.GetRunId(), final, w.Err())
	}
}
