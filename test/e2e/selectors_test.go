package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/testbed"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// threeHosts starts a controller and, on it, the agents of threeHostsOn.
func threeHosts(t *testing.T, opts agentOpts) (*controller, map[string]*agent) {
	t.Helper()
	return threeHostsOn(t, startController(t, controllerOpts{}), opts)
}

// threeHostsOn starts the agents web-1, web-2 (role=web) and db-1 (role=db)
// on c and waits until all three are online.
func threeHostsOn(t *testing.T, c *controller, opts agentOpts) (*controller, map[string]*agent) {
	t.Helper()
	agents := map[string]*agent{}
	for _, h := range []struct{ host, labels string }{
		{"web-1", "role=web"}, {"web-2", "role=web"}, {"db-1", "role=db"},
	} {
		o := opts
		o.labels = h.labels
		agents[h.host] = c.startAgent(h.host, o)
	}
	c.waitOnline(time.Minute, map[string]bool{"web-1": true, "web-2": true, "db-1": true})
	return c, agents
}

// TestSelectorsChooseTheHostsARunReaches runs dry runs over three real agents
// with glob, list, exclusion and label selectors: exactly the chosen hosts
// run and finish, the others never hear of the run; a selector that matches
// nothing is refused with exit 2 and a message, and starts no run.
func TestSelectorsChooseTheHostsARunReaches(t *testing.T) {
	t.Parallel()
	testbed.RequireUnshare(t)
	c, _ := threeHosts(t, agentOpts{})

	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"glob", []string{"--hosts", "web-*"}, []string{"web-1", "web-2"}},
		{"list", []string{"--hosts", "web-1,db-1"}, []string{"db-1", "web-1"}},
		{"exclusion", []string{"--hosts", "web-*,!web-2"}, []string{"web-1"}},
		{"character class", []string{"--hosts", "web-[2-9]"}, []string{"web-2"}},
		{"label", []string{"--labels", "role=db"}, []string{"db-1"}},
		{"glob and label", []string{"--hosts", "*-1", "--labels", "role=web"}, []string{"web-1"}},
	}
	runs := map[string]string{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, evs := c.purge(append(tc.args, "--dry-run", "--phases", "detect,health")...)
			if res.code != 0 {
				t.Fatalf("purge %v: want exit 0 (all finished, nothing unauthorized in their PID namespaces): %s", tc.args, res)
			}
			states, details := finalStates(evs)
			if got := sortedKeys(states); !slices.Equal(got, tc.want) {
				t.Fatalf("purge %v reached hosts %v, want %v", tc.args, got, tc.want)
			}
			for host, s := range states {
				if s != arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED {
					t.Errorf("host %s ended %s (%s), want FINISHED", host, s, details[host])
				}
			}
			for _, ev := range evs {
				if ev.GetState() == arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED &&
					ev.GetResult().GetHost() != ev.GetHost() {
					t.Errorf("FINISHED event of %s carries the result of %q", ev.GetHost(), ev.GetResult().GetHost())
				}
			}
			runs[tc.name] = runID(t, evs)
		})
	}

	// The stored history agrees with the live events: web-* has results
	// from web-1 and web-2 only, each with the two phases asked for.
	if id, ok := runs["glob"]; ok {
		got := c.getRun(id)
		if hosts := sortedKeys(got.GetRun().GetHosts()); !slices.Equal(hosts, []string{"web-1", "web-2"}) {
			t.Errorf("runs show %s: hosts %v, want [web-1 web-2]", id, hosts)
		}
		var resultHosts []string
		for _, r := range got.GetResults() {
			resultHosts = append(resultHosts, r.GetHost())
			var phases []string
			for _, p := range r.GetPhases() {
				phases = append(phases, p.GetName())
			}
			if !slices.Equal(phases, []string{"detect", "health"}) {
				t.Errorf("runs show %s: host %s ran phases %v, want [detect health]", id, r.GetHost(), phases)
			}
		}
		slices.Sort(resultHosts)
		if !slices.Equal(resultHosts, []string{"web-1", "web-2"}) {
			t.Errorf("runs show %s: results of %v, want [web-1 web-2]", id, resultHosts)
		}
	}

	t.Run("no match", func(t *testing.T) {
		before := c.ctl("runs", "list", "-o", "json")
		res, evs := c.purge("--hosts", "cache-*", "--dry-run")
		if res.code != 2 {
			t.Fatalf("a selector matching no host: want exit 2: %s", res)
		}
		if len(evs) != 0 {
			t.Errorf("a selector matching no host printed %d events", len(evs))
		}
		if !strings.Contains(res.stderr, "matched none") || !strings.Contains(res.stderr, "cache-*") {
			t.Errorf("stderr does not say the selector cache-* matched no host:\n%s", res.stderr)
		}
		if after := c.ctl("runs", "list", "-o", "json"); after.stdout != before.stdout {
			t.Errorf("a selector matching no host changed the run history:\nbefore %s\nafter %s",
				cut(before.stdout, 400), cut(after.stdout, 400))
		}
	})
}
