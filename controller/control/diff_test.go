package control

import (
	"testing"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

const ok = arcanosv1.PhaseStatus_PHASE_STATUS_OK

func phase(name string, st arcanosv1.PhaseStatus, subjects ...string) *arcanosv1.PhaseResult {
	p := &arcanosv1.PhaseResult{Name: name, Status: st}
	for _, s := range subjects {
		p.Findings = append(p.Findings, &arcanosv1.Finding{Kind: "process", Subject: s})
	}
	return p
}

// Only phases both runs completed are compared; the rest are listed with
// why. A fresh reviewer found a run cut short by SIGTERM diffed as
// "6017 gone": every finding of the phases it skipped.
func TestDiffComparesOnlyPhasesBothRunsCompleted(t *testing.T) {
	timedOutDocker := phase("detect", ok, "miner")
	timedOutDocker.Sources = []*arcanosv1.SourceResult{{Name: "docker",
		Status: arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT}}
	cases := []struct {
		name     string
		cur, old []*arcanosv1.PhaseResult
		compared []string
		left     map[string]string // phase -> reason
	}{
		{"both complete", []*arcanosv1.PhaseResult{phase("detect", ok, "a")},
			[]*arcanosv1.PhaseResult{phase("detect", ok, "b")}, []string{"detect"}, nil},
		{"skipped now", []*arcanosv1.PhaseResult{phase("detect", ok), phase("startup", arcanosv1.PhaseStatus_PHASE_STATUS_SKIPPED)},
			[]*arcanosv1.PhaseResult{phase("detect", ok), phase("startup", ok, "cron-x")},
			[]string{"detect"}, map[string]string{"startup": "skipped in run-2"}},
		{"failed in the base", []*arcanosv1.PhaseResult{phase("startup", ok, "cron-x")},
			[]*arcanosv1.PhaseResult{phase("startup", arcanosv1.PhaseStatus_PHASE_STATUS_FAILED)},
			nil, map[string]string{"startup": "failed in run-1"}},
		{"a source timed out", []*arcanosv1.PhaseResult{timedOutDocker},
			[]*arcanosv1.PhaseResult{phase("detect", ok, "miner", "web")},
			nil, map[string]string{"detect": "source docker timed_out in run-2"}},
		{"a phase one run did not run", []*arcanosv1.PhaseResult{phase("detect", ok), phase("health", ok)},
			[]*arcanosv1.PhaseResult{phase("health", ok), phase("caches", ok)},
			[]string{"health"}, map[string]string{"detect": "not run in run-1", "caches": "not run in run-2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			both, left := comparable(&arcanosv1.RunResult{Phases: c.cur}, "run-2",
				&arcanosv1.RunResult{Phases: c.old}, "run-1")
			if len(both) != len(c.compared) {
				t.Errorf("compared %v, want %v", both, c.compared)
			}
			for _, p := range c.compared {
				if !both[p] {
					t.Errorf("phase %s not compared, want it compared", p)
				}
			}
			if len(left) != len(c.left) {
				t.Fatalf("not compared %v, want %v", left, c.left)
			}
			for _, l := range left {
				if c.left[l.GetPhase()] != l.GetReason() {
					t.Errorf("phase %s left out because %q, want %q", l.GetPhase(), l.GetReason(), c.left[l.GetPhase()])
				}
			}
		})
	}
	if !samePhases(nil, nil) || samePhases([]string{"health"}, nil) ||
		!samePhases([]string{"health", "detect"}, []string{"detect", "health"}) {
		t.Fatal("samePhases: order must not matter, and a subset is not the same")
	}
}
