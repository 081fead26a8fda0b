// Package summary counts a run's findings and actions the one way the
// agent, the controller and arcanosctl all count them.
package summary

import arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"

// Phases whose findings are not counted: services re-lists authorized
// things the detect phase judged, and health findings carry no verdict.
// They are pkg/phases' names (a test in pkg/purge keeps them in step).
const (
	phaseServices = "services"
	phaseHealth   = "health"
)

// Of counts phases' findings by verdict, each once, and their actions by
// state; bytes reclaimed are those of planned and done actions.
func Of(phases []*arcanosv1.PhaseResult) *arcanosv1.RunSummary {
	s := &arcanosv1.RunSummary{}
	for _, p := range phases {
		if p.GetName() != phaseServices && p.GetName() != phaseHealth {
			countVerdicts(s, p.GetFindings())
		}
		countActions(s, p.GetActions())
	}
	return s
}

func countVerdicts(s *arcanosv1.RunSummary, fs []*arcanosv1.Finding) {
	for _, f := range fs {
		switch f.GetVerdict() {
		case arcanosv1.Verdict_VERDICT_AUTHORIZED:
			s.Authorized++
		case arcanosv1.Verdict_VERDICT_UNAUTHORIZED:
			s.Unauthorized++
		case arcanosv1.Verdict_VERDICT_PROTECTED:
			s.Protected++
		case arcanosv1.Verdict_VERDICT_UNKNOWN:
			s.Unknown++
		}
	}
}

func countActions(s *arcanosv1.RunSummary, as []*arcanosv1.Action) {
	for _, a := range as {
		switch a.GetState() {
		case arcanosv1.ActionState_ACTION_STATE_PLANNED:
			s.ActionsPlanned++
			s.BytesReclaimed += a.GetBytesReclaimed()
		case arcanosv1.ActionState_ACTION_STATE_DONE:
			s.ActionsDone++
			s.BytesReclaimed += a.GetBytesReclaimed()
		case arcanosv1.ActionState_ACTION_STATE_REFUSED:
			s.ActionsRefused++
		case arcanosv1.ActionState_ACTION_STATE_FAILED:
			s.ActionsFailed++
		}
	}
}
