package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/testbed"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// slowSource makes each agent's detect phase wait 6s (the source timeout) on a Docker
// socket that never answers, so a run lasts long enough to break into.
const slowSource = "timeouts:\n  source: 6s\n"

// TestControllerKilledMidRunLosesNoResult kills the controller with SIGKILL
// while three agents are in the middle of a dry run, and starts it again on
// the same data directory and address: the agents reconnect and re-send
// what they kept, and the stored run has every host's full result, each
// made after the kill.
func TestControllerKilledMidRunLosesNoResult(t *testing.T) {
	t.Parallel()
	testbed.RequireUnshare(t)
	c := startController(t, controllerOpts{})
	_, agents := threeHostsOn(t, c, agentOpts{dockerHost: hangingDocker(t), settings: slowSource})

	w := c.startPurge("--hosts", "*", "--dry-run", "--phases", "detect,health")
	id := w.waitRunID(time.Minute)
	for _, a := range agents {
		a.waitLog(time.Minute, `msg="run started"`, "run="+id)
	}
	killedAt := time.Now()
	c.proc.kill(t)

	code, _ := w.wait(time.Minute)
	if code != 1 {
		t.Errorf("arcanosctl whose controller died: exit %d, want 1; stderr:\n%s", code, w.stderr.String())
	}
	if !strings.Contains(w.stderr.String(), "runs show "+id) {
		t.Errorf("arcanosctl does not point at runs show %s after losing the controller:\n%s", id, w.stderr.String())
	}

	c.start()
	var got *arcanosv1.GetRunResponse
	complete := poll(2*time.Minute, func() bool {
		got = c.getRun(id)
		return len(got.GetResults()) == len(agents)
	})
	if !complete {
		t.Fatalf("run %s has %d result(s) 2 minutes after the restart, want %d: %v",
			id, len(got.GetResults()), len(agents), got.GetRun())
	}

	var hosts []string
	for _, r := range got.GetResults() {
		hosts = append(hosts, r.GetHost())
		var phases []string
		for _, p := range r.GetPhases() {
			phases = append(phases, p.GetName())
		}
		if !slices.Equal(phases, []string{"detect", "health"}) {
			t.Errorf("host %s: result with phases %v, want [detect health]", r.GetHost(), phases)
		}
		if r.GetStatus() == arcanosv1.PhaseStatus_PHASE_STATUS_FAILED {
			t.Errorf("host %s: result FAILED: %v", r.GetHost(), r.GetErrors())
		}
		if fin := r.GetFinishedAt().AsTime(); !fin.After(killedAt) {
			t.Errorf("host %s: result finished at %s, before the controller was killed at %s: "+
				"the run was not broken into", r.GetHost(), fin, killedAt)
		}
	}
	slices.Sort(hosts)
	if want := sortedKeys(agents); !slices.Equal(hosts, want) {
		t.Errorf("results of %v, want %v", hosts, want)
	}

	// The restarted controller closed the run it found unfinished.
	if got.GetRun().GetFinishedAt() == nil || !strings.Contains(got.GetRun().GetDetail(), "interrupted") {
		t.Errorf("the run is not closed as interrupted after the restart: %v", got.GetRun())
	}

	// Every report was acknowledged: nothing is left in the agents' spools.
	for host, a := range agents {
		spool := filepath.Join(a.stateDir, "spool")
		ok := poll(time.Minute, func() bool {
			left, err := os.ReadDir(spool)
			return err == nil && len(left) == 0
		})
		if !ok {
			left, _ := os.ReadDir(spool)
			t.Errorf("agent %s still keeps %d unacknowledged report(s) in %s", host, len(left), spool)
		}
	}
}
