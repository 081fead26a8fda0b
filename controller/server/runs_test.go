package server

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

const (
	queued    = arcanosv1.HostRunState_HOST_RUN_STATE_QUEUED
	running   = arcanosv1.HostRunState_HOST_RUN_STATE_RUNNING
	phaseDone = arcanosv1.HostRunState_HOST_RUN_STATE_PHASE_DONE
	finished  = arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED
	offline   = arcanosv1.HostRunState_HOST_RUN_STATE_OFFLINE
	failed    = arcanosv1.HostRunState_HOST_RUN_STATE_FAILED
	skipped   = arcanosv1.HostRunState_HOST_RUN_STATE_SKIPPED
	refused   = arcanosv1.HostRunState_HOST_RUN_STATE_REFUSED
	missed    = arcanosv1.HostRunState_HOST_RUN_STATE_MISSED
	okStatus  = arcanosv1.PhaseStatus_PHASE_STATUS_OK
)

func TestStartPurgeSelectorMatchingNoHostIsAnError(t *testing.T) {
	f := start(t, testConfig(t))
	f.newAgent(t, "web-1", nil)

	for _, sel := range []*arcanosv1.Selector{
		{Hosts: "db-*"},
		{Hosts: "web-*", Labels: map[string]string{"role": "db"}},
		{},
	} {
		stream, err := f.op.StartPurge(ctx(t), &arcanosv1.StartPurgeRequest{Selector: sel, DryRun: true})
		if err == nil {
			_, err = stream.Recv()
		}
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("selector %v: %v, want InvalidArgument", sel, err)
		}
	}
	runs, err := f.op.ListRuns(ctx(t), &arcanosv1.ListRunsRequest{})
	if err != nil || len(runs.GetRuns()) != 0 {
		t.Fatalf("runs after refused starts: %v %v, want none", runs.GetRuns(), err)
	}
}

func TestOnlineHostRunsAndItsReportsAreStoredBeforeTheirAck(t *testing.T) {
	f := start(t, testConfig(t))
	a := f.newAgent(t, "web-1", nil)

	ev := f.purge(t, &arcanosv1.StartPurgeRequest{
		Selector: &arcanosv1.Selector{Hosts: "web-*"}, DryRun: true, Phases: []string{"detect"},
		TimeoutSeconds: 120,
	})
	ev.until("web-1", queued)
	cmd := a.command()
	if !cmd.GetDryRun() || cmd.GetRunId() == "" || cmd.GetDeadline() == nil ||
		len(cmd.GetPhases()) != 1 || string(cmd.GetAllowlistJson()) != "{}" {
		t.Fatalf("run command %v: want a dry run of detect with the empty allowlist and a deadline", cmd)
	}
	ev.until("web-1", running)
	id := cmd.GetRunId()

	ack := a.phase(id, 1, detect("miner"))
	if ack.GetRunId() != id || ack.GetSeq() != 1 || ack.GetFinal() {
		t.Fatalf("phase ack %v, want run %s seq 1 not final", ack, id)
	}
	// The ack came after the store returned: the phase is there now.
	phases, err := f.c.store.Phases(t.Context(), id, "web-1")
	if err != nil || len(phases) != 1 || phases[0].GetFindings()[0].GetSubject() != "miner" {
		t.Fatalf("stored phases after the ack: %v %v", phases, err)
	}
	if got := ev.until("web-1", phaseDone); got.GetPhase().GetName() != "detect" {
		t.Fatalf("phase event %v", got)
	}

	// A re-sent report (after a reconnect) is acked again and stored once.
	if ack := a.phase(id, 1, detect("miner")); ack.GetSeq() != 1 {
		t.Fatalf("re-sent phase ack %v", ack)
	}
	if phases, _ := f.c.store.Phases(t.Context(), id, "web-1"); len(phases) != 1 {
		t.Fatalf("re-sent phase stored %d times", len(phases))
	}

	// The result names another host: the certificate's identity wins.
	ack = a.result(id, resultOf(id, "someone-else", okStatus, detect("miner")))
	if !ack.GetFinal() || ack.GetRunId() != id {
		t.Fatalf("result ack %v, want final", ack)
	}
	got, err := f.op.GetRun(ctx(t), &arcanosv1.GetRunRequest{RunId: id})
	if err != nil || len(got.GetResults()) != 1 || got.GetResults()[0].GetHost() != "web-1" {
		t.Fatalf("GetRun right after the final ack: %v %v, want web-1's result", got, err)
	}

	if fin := ev.until("web-1", finished); fin.GetResult() == nil {
		t.Fatalf("finished event without its result: %v", fin)
	}
	if err := ev.rest(); err != nil {
		t.Fatalf("event stream after the last host: %v, want a clean end", err)
	}
	run := waitRun(t, f, id)
	if run.GetHosts()["web-1"] != finished || run.GetStartedBy() != "admin" || !run.GetDryRun() {
		t.Fatalf("stored run %v", run)
	}
	stored, err := f.c.store.Events(t.Context(), id)
	if err != nil || len(stored) < 4 {
		t.Fatalf("stored events %v %v, want queued, running, phase done, finished", stored, err)
	}
}

func TestOfflineSelectedHostIsReportedOffline(t *testing.T) {
	f := start(t, testConfig(t))
	a := f.newAgent(t, "web-1", nil)
	if _, err := f.enroll(t, "web-2", f.token(t, ""), nil); err != nil {
		t.Fatal(err)
	}

	ev := f.purge(t, &arcanosv1.StartPurgeRequest{Selector: &arcanosv1.Selector{Hosts: "web-1,web-2"}, DryRun: true})
	off := ev.until("web-2", offline)
	if !strings.Contains(off.GetDetail(), "offline") {
		t.Fatalf("offline event detail %q", off.GetDetail())
	}
	cmd := a.command()
	a.result(cmd.GetRunId(), resultOf(cmd.GetRunId(), "web-1", okStatus))
	if err := ev.rest(); err != nil {
		t.Fatal(err)
	}
	run := waitRun(t, f, cmd.GetRunId())
	if run.GetHosts()["web-2"] != offline || run.GetHosts()["web-1"] != finished {
		t.Fatalf("run hosts %v, want web-1 finished and web-2 offline", run.GetHosts())
	}
}

func TestRollingRunStopsAtMaxFailures(t *testing.T) {
	f := start(t, testConfig(t))
	setAllowlist(t, f, `{"authorizedProcesses": ["sshd"]}`, 0)
	agents := map[string]*agent{}
	for _, h := range []string{"web-1", "web-2", "web-3"} {
		agents[h] = f.newAgent(t, h, nil)
	}

	ev := f.purge(t, &arcanosv1.StartPurgeRequest{
		Selector: &arcanosv1.Selector{Hosts: "web-*"}, Batch: "1", MaxFailures: 0,
	})
	// Waves go in host order: web-1 first, alone.
	cmd := agents["web-1"].command()
	if cmd.GetDryRun() {
		t.Fatal("real run sent as a dry run")
	}
	agents["web-1"].result(cmd.GetRunId(), resultOf(cmd.GetRunId(), "web-1",
		arcanosv1.PhaseStatus_PHASE_STATUS_FAILED))
	if err := ev.rest(); err != nil {
		t.Fatal(err)
	}

	want := map[string]arcanosv1.HostRunState{"web-1": failed, "web-2": skipped, "web-3": skipped}
	for h, st := range want {
		if got := ev.final()[h]; got != st {
			t.Errorf("%s ended %s, want %s (events: %s)", h, got, st, ev.summary())
		}
	}
	for _, e := range ev.seen {
		if e.GetState() == skipped && !strings.Contains(e.GetDetail(), "rollout stopped") {
			t.Errorf("skipped event does not say why: %q", e.GetDetail())
		}
	}
	run := waitRun(t, f, cmd.GetRunId())
	if !strings.Contains(run.GetDetail(), "rollout stopped: 1 host(s) failed or refused, more than max_failures 0") {
		t.Errorf("run detail %q does not say the rollout stopped", run.GetDetail())
	}
	for _, h := range []string{"web-2", "web-3"} {
		select {
		case msg := <-agents[h].in:
			t.Errorf("%s got %v after the rollout stopped", h, msg)
		default:
		}
	}
}

func TestRefusalIsReportedAndCountsAsFailure(t *testing.T) {
	f := start(t, testConfig(t))
	setAllowlist(t, f, `{"authorizedProcesses": ["sshd"]}`, 0)
	a := f.newAgent(t, "web-1", nil)
	f.newAgent(t, "web-2", nil)

	ev := f.purge(t, &arcanosv1.StartPurgeRequest{Selector: &arcanosv1.Selector{Hosts: "web-*"}, Batch: "1"})
	cmd := a.command()
	if err := a.send(&arcanosv1.ConnectRequest{Msg: &arcanosv1.ConnectRequest_Refused{
		Refused: &arcanosv1.RunRefused{RunId: cmd.GetRunId(), Reason: "real purges are not allowed on this host"},
	}}); err != nil {
		t.Fatal(err)
	}
	got := ev.until("web-1", refused)
	if !strings.Contains(got.GetDetail(), "real purges are not allowed") {
		t.Fatalf("refusal detail %q does not carry the agent's reason", got.GetDetail())
	}
	ev.until("web-2", skipped)
	if err := ev.rest(); err != nil {
		t.Fatal(err)
	}

	// The history says why, too: runs show reads it after the run.
	resp, err := f.op.GetRun(ctx(t), &arcanosv1.GetRunRequest{RunId: cmd.GetRunId()})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{
		"web-1": "refused by the agent: real purges are not allowed on this host",
		"web-2": "rollout stopped",
	} {
		if d := resp.GetHostDetails()[host]; !strings.Contains(d, want) {
			t.Errorf("stored detail of %s %q, want it to contain %q", host, d, want)
		}
	}
}

func TestRealRunNeedsAnAllowlist(t *testing.T) {
	f := start(t, testConfig(t))
	f.newAgent(t, "web-1", nil)
	stream, err := f.op.StartPurge(ctx(t), &arcanosv1.StartPurgeRequest{Selector: &arcanosv1.Selector{Hosts: "*"}})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("real run without an allowlist: %v, want FailedPrecondition", err)
	}
}

// waitRun returns the stored run once it is finished.
func waitRun(t *testing.T, f *fixture, id string) *arcanosv1.Run {
	t.Helper()
	resp, err := f.op.GetRun(ctx(t), &arcanosv1.GetRunRequest{RunId: id})
	if err != nil {
		t.Fatalf("get run %s: %v", id, err)
	}
	if resp.GetRun().GetFinishedAt() == nil {
		t.Fatalf("run %s not finished after its event stream ended: %v", id, resp.GetRun())
	}
	return resp.GetRun()
}

func setAllowlist(t *testing.T, f *fixture, doc string, expected int64) *arcanosv1.AllowlistVersion {
	t.Helper()
	resp, err := f.op.SetAllowlist(ctx(t), &arcanosv1.SetAllowlistRequest{
		Document: []byte(doc), ExpectedVersion: expected, Comment: "test"})
	if err != nil {
		t.Fatalf("set allowlist: %v", err)
	}
	return resp.GetCurrent()
}

func TestUnknownRunIsNamedOnceWithWhereToLook(t *testing.T) {
	f := start(t, testConfig(t))
	for name, call := range map[string]func() error{
		"get":  func() error { _, err := f.op.GetRun(ctx(t), &arcanosv1.GetRunRequest{RunId: "nope"}); return err },
		"diff": func() error { _, err := f.op.DiffRuns(ctx(t), &arcanosv1.DiffRunsRequest{RunId: "nope"}); return err },
	} {
		err := call()
		msg := status.Convert(err).Message()
		if status.Code(err) != codes.NotFound || strings.Count(msg, "nope") != 1 || !strings.Contains(msg, "runs list") {
			t.Errorf("%s of an unknown run: %v, want NotFound naming it once and pointing at runs list", name, err)
		}
	}
}

// An allowlist that authorizes nothing makes every daemon of every host
// unauthorized: it is stored only when asked for (a fresh reviewer stored
// {} by mistake without a word).
func TestEmptyAllowlistIsStoredOnlyWhenAskedFor(t *testing.T) {
	f := start(t, testConfig(t))
	for _, doc := range []string{`{}`, `{"authorizedProcesses": [], "pm2Ecosystem": null}`,
		`{"authorizedServices": [], "overlays": {"role=web": {"allowedDockerImages": []}}}`} {
		_, err := f.op.SetAllowlist(ctx(t), &arcanosv1.SetAllowlistRequest{Document: []byte(doc)})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "authorizes nothing") {
			t.Errorf("set %s: %v, want InvalidArgument saying it authorizes nothing", doc, err)
		}
	}
	resp, err := f.op.SetAllowlist(ctx(t), &arcanosv1.SetAllowlistRequest{Document: []byte(`{}`), AllowEmpty: true})
	if err != nil || resp.GetCurrent().GetVersion() != 1 {
		t.Fatalf("set {} with allow_empty: %v %v, want version 1", resp, err)
	}
	// An empty base with an overlay: refused while some host (here, one not
	// enrolled yet: a host without labels) would get nothing, stored once
	// every enrolled host gets something, refused again when a host no
	// overlay applies to enrolls (a second reviewer's case).
	overlayOnly := `{"overlays": {"role=web": {"authorizedProcesses": ["nginx"]}}}`
	set := func() error {
		_, err := f.op.SetAllowlist(ctx(t), &arcanosv1.SetAllowlistRequest{Document: []byte(overlayOnly),
			ExpectedVersion: 1})
		return err
	}
	if err := set(); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "base authorizes nothing") {
		t.Errorf("overlay-only allowlist with no host enrolled: %v, want refused", err)
	}
	f.newAgent(t, "web-1", map[string]string{"role": "web"})
	if err := set(); err != nil {
		t.Errorf("overlay-only allowlist when every host is role=web: %v, want stored", err)
	}
	f.newAgent(t, "db-1", map[string]string{"role": "db"})
	if err := set(); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "1 enrolled host(s) (db-1)") {
		t.Errorf("overlay-only allowlist with db-1 enrolled: %v, want refused naming db-1", err)
	}
}
