package daemon

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/purge"
	"github.com/arcanos-dev/arcanos/pkg/testbed"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func TestHelloCarriesTheCertificatesHostID(t *testing.T) {
	fc := newFakeController(t)
	st := testSettings(t, enrollHost(t, fc, "web-1", map[string]string{"role": "web"}))
	st.Hostname = "a-name-that-is-not-the-id"
	newAgent(t, st).start(t)

	s := fc.nextStream(t)
	h := s.hello
	if h.GetHostId() != "web-1" || s.peer.Name != "web-1" {
		t.Errorf("hello host id %q, certificate %q; want web-1 for both", h.GetHostId(), s.peer.Name)
	}
	if h.GetHostname() != "a-name-that-is-not-the-id" {
		t.Errorf("hostname = %q", h.GetHostname())
	}
	if !maps.Equal(h.GetLabels(), map[string]string{"role": "web"}) {
		t.Errorf("labels = %v, want the enrolled ones", h.GetLabels())
	}
	if h.GetAgentVersion() != purge.Version || !strings.HasPrefix(h.GetOs(), "linux/") {
		t.Errorf("version %q, os %q", h.GetAgentVersion(), h.GetOs())
	}
	if h.GetRealPurgesAllowed() {
		t.Error("real purges must not be announced as allowed by default")
	}
	if !slices.Contains(h.GetSources(), "procs") || slices.Contains(h.GetSources(), "docker") {
		t.Errorf("sources = %v: want procs, and no docker (its socket is absent)", h.GetSources())
	}
}

func TestHeartbeatsFollowTheWelcomesInterval(t *testing.T) {
	fc := newFakeController(t)
	fc.interval = 20 * time.Millisecond // far below the agent's own 1s
	newAgent(t, testSettings(t, enrollHost(t, fc, "web-1", nil))).start(t)

	s := fc.nextStream(t)
	beats := 0
	timeout := time.After(waitFor)
	for beats < 3 {
		select {
		case m := <-s.in:
			if m.GetHeartbeat() != nil {
				beats++
			}
		case <-timeout:
			t.Fatalf("%d heartbeats, want 3", beats)
		}
	}
}

func TestDryRunReportsEachPhaseThenTheResult(t *testing.T) {
	fc := newFakeController(t)
	fc.ack.Store(true)
	st := testSettings(t, enrollHost(t, fc, "web-1", nil))
	a := newAgent(t, st).start(t)

	s := fc.nextStream(t)
	s.send(runCommand("run-1", true, "health", "detect"))

	for i, want := range []string{"detect", "health"} {
		p := s.next(t).GetPhase()
		if p == nil || p.GetRunId() != "run-1" || p.GetSeq() != int32(i+1) || p.GetPhase().GetName() != want {
			t.Fatalf("report %d = %v, want phase %s with seq %d", i+1, p, want, i+1)
		}
	}
	r := s.next(t).GetRun()
	if r == nil || r.GetRunId() != "run-1" {
		t.Fatalf("want the run report, got %v", r)
	}
	res := r.GetResult()
	if !res.GetDryRun() || len(res.GetPhases()) != 2 || res.GetRunId() != "run-1" {
		t.Errorf("result: dry %v, %d phases, run %q", res.GetDryRun(), len(res.GetPhases()), res.GetRunId())
	}

	eventually(t, "acked reports leave the spool", func() bool { return a.spool.Len() == 0 })
	if files := spoolFiles(t, st.Fleet.StateDir); len(files) != 0 {
		t.Errorf("spool files left after the acks: %v", files)
	}
	if _, err := os.Stat(filepath.Join(st.LogDir, "daemon-scan.log")); err != nil {
		t.Errorf("the run must write its logs locally too: %v", err)
	}
}

// blockingPurge makes the daemon's purges wait for release before running
// the real purge.Run, so a test can act while a run is in progress.
func blockingPurge(a *agent) (started chan string, release chan struct{}) {
	started, release = make(chan string, 4), make(chan struct{})
	a.runner.purge = func(ctx context.Context, o purge.Options) (*arcanosv1.RunResult, error) {
		started <- o.RunID
		select {
		case <-release:
		case <-ctx.Done():
		}
		return purge.Run(ctx, o)
	}
	return started, release
}

func TestSecondRunIsRefusedWhileOneIsInProgress(t *testing.T) {
	fc := newFakeController(t)
	fc.ack.Store(true)
	a := newAgent(t, testSettings(t, enrollHost(t, fc, "web-1", nil)))
	started, release := blockingPurge(a)
	a.start(t)

	s := fc.nextStream(t)
	s.send(runCommand("run-1", true, "detect"))
	<-started
	s.send(runCommand("run-2", true, "detect"))

	ref := s.next(t).GetRefused()
	if ref == nil || ref.GetRunId() != "run-2" || ref.GetReason() != "a run is already in progress: run-1" {
		t.Fatalf("want run-2 refused because run-1 is in progress, got %v", ref)
	}
	close(release)
	for {
		m := s.next(t)
		if m.GetRun() != nil {
			if m.GetRun().GetRunId() != "run-1" {
				t.Fatalf("result of %q, want run-1", m.GetRun().GetRunId())
			}
			break
		}
	}
}

func TestRefusalsReachTheController(t *testing.T) {
	badAllowlist := runCommand("run-bad", true, "detect")
	badAllowlist.GetRun().AllowlistJson = []byte(`{"authorizedProcess": ["nginx"], "authorizedServices": [42]}`)
	badPhase := runCommand("run-phase", true, "detect", "teleport")
	late := runCommand("run-late", true, "detect")
	late.GetRun().Deadline.Seconds -= 3600

	cases := []struct {
		name string
		cmd  *arcanosv1.ConnectResponse
		want []string
	}{
		{"real purge on a host that refuses them", runCommand("run-real", false, "detect"),
			[]string{RefusedRealPurge}},
		{"invalid allowlist", badAllowlist,
			[]string{"allowlist v7 has 2 problem(s)", "$.authorizedProcess", "$.authorizedServices[0]"}},
		{"unknown phase", badPhase, []string{`unknown phase "teleport"`}},
		{"deadline already passed", late, []string{"deadline", "passed before it reached this host"}},
	}
	fc := newFakeController(t)
	a := newAgent(t, testSettings(t, enrollHost(t, fc, "web-1", nil)))
	// A refused command must never reach purge.Run; should the guard break,
	// this stub keeps the real run (one command is real) from happening.
	var ran atomic.Int32
	a.runner.purge = func(context.Context, purge.Options) (*arcanosv1.RunResult, error) {
		ran.Add(1)
		return nil, errors.New("refused commands must not run")
	}
	a.start(t)
	s := fc.nextStream(t)

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.send(c.cmd)
			ref := s.next(t).GetRefused()
			if ref == nil || ref.GetRunId() != c.cmd.GetRun().GetRunId() {
				t.Fatalf("want a refusal of %s, got %v", c.cmd.GetRun().GetRunId(), ref)
			}
			for _, w := range c.want {
				if !strings.Contains(ref.GetReason(), w) {
					t.Errorf("reason %q lacks %q", ref.GetReason(), w)
				}
			}
		})
	}
	if n := ran.Load(); n != 0 {
		t.Errorf("refused commands must not run; %d ran", n)
	}
}

func TestCancelRunCancelsTheRunInProgress(t *testing.T) {
	fc := newFakeController(t)
	fc.ack.Store(true)
	a := newAgent(t, testSettings(t, enrollHost(t, fc, "web-1", nil)))
	started, _ := blockingPurge(a)
	a.start(t)

	s := fc.nextStream(t)
	s.send(runCommand("run-1", true, "detect", "health"))
	<-started
	s.send(&arcanosv1.ConnectResponse{Msg: &arcanosv1.ConnectResponse_Cancel{Cancel: &arcanosv1.CancelRun{
		RunId: "run-1", Reason: "operator pressed ctrl-c"}}})

	var res *arcanosv1.RunResult
	for res == nil {
		res = s.next(t).GetRun().GetResult()
	}
	if res.GetStatus() == arcanosv1.PhaseStatus_PHASE_STATUS_OK {
		t.Errorf("a cancelled run must not report OK")
	}
	if !slices.Contains(res.GetErrors(), "cancelled by the controller: operator pressed ctrl-c") {
		t.Errorf("errors %q lack the cancellation and its reason", res.GetErrors())
	}
	eventually(t, "the runner is free again", func() bool { return a.runner.running() == "" })
}

func TestSilentControllerIsRedialled(t *testing.T) {
	fc := newFakeController(t)
	fc.welcome.Store(false)
	st := testSettings(t, enrollHost(t, fc, "web-1", nil))
	st.Fleet.Heartbeat = 20 * time.Millisecond
	newAgent(t, st).start(t)

	fc.nextStream(t)
	fc.nextStream(t) // the agent gave up on the first stream and dialled again
}

func TestRealRunAllowedBySettingsRunsInItsPIDNamespace(t *testing.T) {
	if !testbed.InPIDNamespace(t) {
		return
	}
	fc := newFakeController(t)
	fc.ack.Store(true)
	st := testSettings(t, enrollHost(t, fc, "web-1", nil))
	st.Fleet.AllowReal = true
	st.Caches.PidFiles = false
	newAgent(t, st).start(t)

	s := fc.nextStream(t)
	if !s.hello.GetRealPurgesAllowed() {
		t.Error("hello must announce that this host allows real purges")
	}
	s.send(runCommand("run-real", false, "detect", "health"))
	var res *arcanosv1.RunResult
	for res == nil {
		m := s.next(t)
		if m.GetRefused() != nil {
			t.Fatalf("refused: %s", m.GetRefused().GetReason())
		}
		res = m.GetRun().GetResult()
	}
	if res.GetDryRun() || len(res.GetPhases()) != 2 {
		t.Errorf("result: dry %v, %d phases; want a real run of 2 phases", res.GetDryRun(), len(res.GetPhases()))
	}
}
