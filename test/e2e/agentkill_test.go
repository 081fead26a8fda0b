package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/testbed"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// TestAgentKilledMidRunFailsItsHostAtTheDeadline kills one agent with
// SIGKILL while it runs (its detect phase waits on a Docker socket that
// never answers): at its deadline (8s) plus the controller's grace (2s) its
// host is FAILED, saying its agent disconnected without a result; the other
// host of the run finishes, and arcanosctl exits 4.
func TestAgentKilledMidRunFailsItsHostAtTheDeadline(t *testing.T) {
	t.Parallel()
	testbed.RequireUnshare(t)
	c := startController(t, controllerOpts{args: []string{"--run-grace", "2s"}})
	slow := c.startAgent("web-1", agentOpts{labels: "role=web", dockerHost: hangingDocker(t),
		settings: "timeouts:\n  source: 2m\n  phase: 2m\n  run: 5m\n"})
	c.startAgent("web-2", agentOpts{labels: "role=web"})
	c.waitOnline(time.Minute, map[string]bool{"web-1": true, "web-2": true})

	w := c.startPurge("--hosts", "web-*", "--dry-run", "--phases", "detect,health", "--timeout", "8s")
	id := w.waitRunID(time.Minute)
	slow.waitLog(time.Minute, `msg="run started"`, "run="+id)
	slow.proc.kill(t)

	code, evs := w.wait(2 * time.Minute)
	if code != 4 {
		t.Errorf("a run with a failed host: exit %d, want 4; stderr:\n%s", code, w.stderr.String())
	}
	states, details := finalStates(evs)
	if s := states["web-2"]; s != arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED {
		t.Errorf("web-2 ended %s (%s), want FINISHED", s, details["web-2"])
	}
	if s := states["web-1"]; s != arcanosv1.HostRunState_HOST_RUN_STATE_FAILED {
		t.Fatalf("killed web-1 ended %s (%s), want FAILED", s, details["web-1"])
	}
	for _, want := range []string{"no result by its deadline", "disconnected"} {
		if !strings.Contains(details["web-1"], want) {
			t.Errorf("the FAILED event of web-1 does not say %q: %q", want, details["web-1"])
		}
	}

	// The host is failed at its deadline, not before: until then its agent
	// might have come back with the result.
	var deadline, failedAt time.Time
	for _, ev := range evs {
		if ev.GetHost() != "web-1" {
			continue
		}
		switch ev.GetState() {
		case arcanosv1.HostRunState_HOST_RUN_STATE_RUNNING:
			if d, ok := strings.CutPrefix(ev.GetDetail(), "command sent; deadline "); ok {
				deadline, _ = time.Parse(time.RFC3339, d)
			}
		case arcanosv1.HostRunState_HOST_RUN_STATE_FAILED:
			failedAt = ev.GetAt().AsTime()
		}
	}
	if deadline.IsZero() {
		t.Fatalf("no RUNNING event of web-1 names its deadline")
	}
	if failedAt.Before(deadline) {
		t.Errorf("web-1 was failed at %s, before its deadline %s", failedAt, deadline)
	}

	if s := c.getRun(id).GetRun().GetHosts()["web-1"]; s != arcanosv1.HostRunState_HOST_RUN_STATE_FAILED {
		t.Errorf("stored run: web-1 is %s, want FAILED", s)
	}
}

// TestAgentKilledAndRestartedMidRunReportsTheRunLost kills web-1's agent
// with SIGKILL during a run whose deadline is minutes away, then starts it
// again: the agent finds the run it was stopped during and reports it
// failed, so the host is FAILED saying why long before its deadline (the
// wait below is shorter than the deadline), and runs show says why too.
func TestAgentKilledAndRestartedMidRunReportsTheRunLost(t *testing.T) {
	t.Parallel()
	testbed.RequireUnshare(t)
	c := startController(t, controllerOpts{})
	slow := c.startAgent("web-1", agentOpts{labels: "role=web", dockerHost: hangingDocker(t),
		settings: "timeouts:\n  source: 10m\n  phase: 10m\n  run: 10m\n"})
	c.waitOnline(time.Minute, map[string]bool{"web-1": true})

	w := c.startPurge("--hosts", "web-1", "--dry-run", "--phases", "detect,health", "--timeout", "10m")
	id := w.waitRunID(time.Minute)
	slow.waitLog(time.Minute, `msg="run started"`, "run="+id)
	slow.proc.kill(t)
	slow.start()

	code, evs := w.wait(3 * time.Minute)
	if code != 4 {
		t.Errorf("a run whose only host failed: exit %d, want 4; stderr:\n%s", code, w.stderr.String())
	}
	states, details := finalStates(evs)
	if s := states["web-1"]; s != arcanosv1.HostRunState_HOST_RUN_STATE_FAILED ||
		!strings.Contains(details["web-1"], "the agent stopped during this run") {
		t.Fatalf("restarted web-1 ended %s (%q), want FAILED because its agent stopped during the run",
			s, details["web-1"])
	}
	slow.waitLog(time.Minute, "the agent stopped during a run; reporting it failed", "run="+id)

	got := c.getRun(id)
	if d := got.GetHostDetails()["web-1"]; !strings.Contains(d, "the agent stopped during this run") {
		t.Errorf("runs show: web-1's detail %q does not say its agent stopped during the run", d)
	}
}
