package dispatch

import (
	"strings"
	"testing"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func TestPartialResultIsNotFinished(t *testing.T) {
	ok := arcanosv1.PhaseStatus_PHASE_STATUS_OK
	src := func(st arcanosv1.PhaseStatus) *arcanosv1.PhaseResult {
		return &arcanosv1.PhaseResult{Name: "detect", Status: ok, Sources: []*arcanosv1.SourceResult{
			{Name: "docker", Status: st, Reason: "no answer within 15s"}}}
	}
	cases := []struct {
		name  string
		res   *arcanosv1.RunResult
		state arcanosv1.HostRunState
		why   string
	}{
		{"clean", &arcanosv1.RunResult{Status: ok, Phases: []*arcanosv1.PhaseResult{src(ok)}},
			arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED, "unauthorized"},
		{"absent docker is fine", &arcanosv1.RunResult{Status: ok,
			Phases: []*arcanosv1.PhaseResult{src(arcanosv1.PhaseStatus_PHASE_STATUS_UNAVAILABLE)}},
			arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED, "unauthorized"},
		{"timed-out docker", &arcanosv1.RunResult{Status: ok,
			Phases: []*arcanosv1.PhaseResult{src(arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT)}},
			arcanosv1.HostRunState_HOST_RUN_STATE_FAILED, "detect source docker timed_out: no answer within 15s"},
		{"timed-out run", &arcanosv1.RunResult{Status: arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT},
			arcanosv1.HostRunState_HOST_RUN_STATE_FAILED, "could not complete"},
	}
	for _, c := range cases {
		state, why := resultState(c.res, wholeWhy(c.res, nil))
		if state != c.state || !strings.Contains(why, c.why) {
			t.Errorf("%s: %s %q, want %s containing %q", c.name, state, why, c.state, c.why)
		}
	}
}
