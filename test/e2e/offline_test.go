package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/testbed"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// TestOfflineHostIsReportedNotDropped stops one enrolled agent: a dry run
// over every host reports it OFFLINE (live and in the stored run), the
// online host still finishes, and arcanosctl exits 4.
func TestOfflineHostIsReportedNotDropped(t *testing.T) {
	t.Parallel()
	testbed.RequireUnshare(t)
	c := startController(t, controllerOpts{})
	c.startAgent("web-1", agentOpts{labels: "role=web"})
	db := c.startAgent("db-1", agentOpts{labels: "role=db"})
	c.waitOnline(time.Minute, map[string]bool{"web-1": true, "db-1": true})

	db.proc.stop(t)
	c.waitOnline(time.Minute, map[string]bool{"web-1": true, "db-1": false})

	res, evs := c.purge("--hosts", "*", "--dry-run", "--phases", "detect,health")
	if res.code != 4 {
		t.Fatalf("a run with an offline host: want exit 4: %s", res)
	}
	states, details := finalStates(evs)
	want := map[string]arcanosv1.HostRunState{
		"web-1": arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED,
		"db-1":  arcanosv1.HostRunState_HOST_RUN_STATE_OFFLINE,
	}
	for host, w := range want {
		if states[host] != w {
			t.Errorf("host %s ended %s (%s), want %s", host, states[host], details[host], w)
		}
	}
	if !strings.Contains(details["db-1"], "offline") {
		t.Errorf("the OFFLINE event of db-1 does not say why: %q", details["db-1"])
	}
	if !strings.Contains(res.stderr, "db-1") || !strings.Contains(strings.ToLower(res.stderr), "offline") {
		t.Errorf("the summary does not name db-1 as offline:\n%s", res.stderr)
	}

	got := c.getRun(runID(t, evs))
	if s := got.GetRun().GetHosts()["db-1"]; s != arcanosv1.HostRunState_HOST_RUN_STATE_OFFLINE {
		t.Errorf("stored run: db-1 is %s, want OFFLINE", s)
	}
	var hosts []string
	for _, r := range got.GetResults() {
		hosts = append(hosts, r.GetHost())
	}
	if !slices.Equal(hosts, []string{"web-1"}) {
		t.Errorf("stored results of %v, want [web-1]", hosts)
	}
}
