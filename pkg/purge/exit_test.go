package purge

import (
	"testing"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func TestExitCode(t *testing.T) {
	ok := arcanosv1.PhaseStatus_PHASE_STATUS_OK
	src := func(st arcanosv1.PhaseStatus) []*arcanosv1.SourceResult {
		return []*arcanosv1.SourceResult{{Name: "docker", Status: st}}
	}
	unauth := []*arcanosv1.Finding{{Verdict: arcanosv1.Verdict_VERDICT_UNAUTHORIZED}}
	cases := []struct {
		name   string
		status arcanosv1.PhaseStatus
		phases []*arcanosv1.PhaseResult
		want   int
	}{
		{"clean", ok, []*arcanosv1.PhaseResult{{Name: "detect", Status: ok}}, ExitOK},
		{"unauthorized", ok, []*arcanosv1.PhaseResult{{Name: "detect", Status: ok, Findings: unauth}}, ExitUnauthorized},
		{"absent source is fine", ok, []*arcanosv1.PhaseResult{{Name: "detect", Status: ok,
			Sources: src(arcanosv1.PhaseStatus_PHASE_STATUS_UNAVAILABLE)}}, ExitOK},
		{"timed-out source makes it partial", ok, []*arcanosv1.PhaseResult{{Name: "detect", Status: ok,
			Findings: unauth, Sources: src(arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT)}}, ExitFailed},
		{"failed source makes it partial", ok, []*arcanosv1.PhaseResult{{Name: "detect", Status: ok,
			Sources: src(arcanosv1.PhaseStatus_PHASE_STATUS_FAILED)}}, ExitFailed},
		{"planned stops without detect", ok, []*arcanosv1.PhaseResult{{Name: "terminate", Status: ok,
			Actions: []*arcanosv1.Action{{Kind: "signal", State: arcanosv1.ActionState_ACTION_STATE_PLANNED}}}}, ExitUnauthorized},
		{"failed action", ok, []*arcanosv1.PhaseResult{{Name: "caches", Status: ok,
			Actions: []*arcanosv1.Action{{State: arcanosv1.ActionState_ACTION_STATE_FAILED}}}}, ExitFailed},
		{"failed phase", ok, []*arcanosv1.PhaseResult{{Name: "detect", Status: arcanosv1.PhaseStatus_PHASE_STATUS_FAILED}}, ExitFailed},
		{"timed-out run", arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT, nil, ExitFailed},
	}
	for _, c := range cases {
		res := &arcanosv1.RunResult{Status: c.status, Phases: c.phases}
		if got := ExitCode(res); got != c.want {
			t.Errorf("%s: exit %d, want %d", c.name, got, c.want)
		}
	}
}
