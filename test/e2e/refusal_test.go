package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/testbed"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// refusalReason is what an agent without fleet.allow_real answers to a real
// purge (agent/daemon.RefusedRealPurge).
const refusalReason = "fleet.allow_real: false"

// setAllowlist sets the repository's example allowlist as the central one:
// a real run is refused by the controller without one.
func setAllowlist(t *testing.T, c *controller) {
	t.Helper()
	if res := c.ctl("allowlist", "set", repoRoot+"/config/authorized-services.json", "--comment", "e2e"); res.code != 0 {
		t.Fatalf("allowlist set: %s", res)
	}
}

// TestRealPurgeRefusedByAgentPolicy asks an agent whose settings refuse real
// purges for one: it does nothing, the host is REFUSED with the agent's
// reason in arcanosctl's events and summary, and arcanosctl exits 4.
func TestRealPurgeRefusedByAgentPolicy(t *testing.T) {
	t.Parallel()
	testbed.RequireUnshare(t)
	c := startController(t, controllerOpts{})
	setAllowlist(t, c)
	web := c.startAgent("web-1", agentOpts{labels: "role=web"})
	c.waitOnline(time.Minute, map[string]bool{"web-1": true})

	res, evs := c.purge("--hosts", "web-1", "--apply", "--phases", "detect")
	if res.code != 4 {
		t.Fatalf("a refused real purge: want exit 4: %s", res)
	}
	states, details := finalStates(evs)
	if s := states["web-1"]; s != arcanosv1.HostRunState_HOST_RUN_STATE_REFUSED {
		t.Fatalf("web-1 ended %s (%s), want REFUSED", s, details["web-1"])
	}
	if !strings.Contains(details["web-1"], refusalReason) {
		t.Errorf("the REFUSED event does not carry the agent's reason %q: %q", refusalReason, details["web-1"])
	}
	if !strings.Contains(res.stderr, refusalReason) {
		t.Errorf("arcanosctl's summary does not show the agent's reason %q:\n%s", refusalReason, res.stderr)
	}

	id := runID(t, evs)
	web.waitLog(30*time.Second, "run refused", id)
	if strings.Contains(web.proc.log(), `msg="run started" run=`+id) {
		t.Errorf("the agent started the real run %s it refused:\n%s", id, tail(web.proc.logPath, 20))
	}
	got := c.getRun(id)
	if len(got.GetResults()) != 0 {
		t.Errorf("a refused run stored %d result(s)", len(got.GetResults()))
	}
	if got.GetRun().GetDryRun() {
		t.Errorf("the stored run is a dry run; the operator asked for a real one")
	}
}

// TestRollingPurgeStopsAtItsFailureThreshold rolls a real purge over three
// agents that all refuse real purges, one host per wave, tolerating no
// failure: the first host refuses, the rollout stops, the other two are
// SKIPPED without ever receiving the command, and the output says the
// rollout stopped.
func TestRollingPurgeStopsAtItsFailureThreshold(t *testing.T) {
	t.Parallel()
	testbed.RequireUnshare(t)
	c := startController(t, controllerOpts{})
	setAllowlist(t, c)
	_, agents := threeHostsOn(t, c, agentOpts{})

	res, evs := c.purge("--hosts", "*", "--apply", "--batch", "1", "--max-failures", "0", "--phases", "detect")
	if res.code != 4 {
		t.Fatalf("a stopped rollout: want exit 4: %s", res)
	}
	states, details := finalStates(evs)
	var refused, skipped []string
	for host, s := range states {
		switch s {
		case arcanosv1.HostRunState_HOST_RUN_STATE_REFUSED:
			refused = append(refused, host)
		case arcanosv1.HostRunState_HOST_RUN_STATE_SKIPPED:
			skipped = append(skipped, host)
			if !strings.Contains(details[host], "rollout stopped") {
				t.Errorf("the SKIPPED event of %s does not say the rollout stopped: %q", host, details[host])
			}
		default:
			t.Errorf("host %s ended %s (%s), want REFUSED or SKIPPED", host, s, details[host])
		}
	}
	if len(refused) != 1 || len(skipped) != 2 {
		t.Fatalf("refused %v and skipped %v: want one host refused (the first wave) and two skipped", refused, skipped)
	}
	if !strings.Contains(res.stderr, "rollout stopped") {
		t.Errorf("arcanosctl's summary does not say the rollout stopped:\n%s", res.stderr)
	}

	id := runID(t, evs)
	agents[refused[0]].waitLog(30*time.Second, "run refused", id)
	for _, host := range skipped {
		if log := agents[host].proc.log(); strings.Contains(log, id) {
			t.Errorf("skipped host %s received run %s:\n%s", host, id, tail(agents[host].proc.logPath, 20))
		}
	}
	got := c.getRun(id)
	if d := got.GetRun().GetDetail(); !strings.Contains(d, "rollout stopped") {
		t.Errorf("the stored run's detail does not say the rollout stopped: %q", d)
	}
	for host, s := range got.GetRun().GetHosts() {
		if s != states[host] {
			t.Errorf("stored run: %s is %s, the live events said %s", host, s, states[host])
		}
	}
}
