package command

import (
	"github.com/arcanos-dev/arcanos/pkg/summary"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// hostOutcome is where one host stands in a run, as its events tell it.
type hostOutcome struct {
	host   string
	state  arcanosv1.HostRunState
	detail string
	// phases are the phases reported done so far, in the order they came.
	phases []*arcanosv1.PhaseResult
	// result is the host's final result, set once it finished.
	result *arcanosv1.RunResult
}

// tracker folds a run's events into one outcome per host, in the order the
// hosts first appeared. Its memory grows with the hosts, not the events.
type tracker struct {
	runID string
	order []*hostOutcome
	hosts map[string]*hostOutcome
	// notes are events about the run as a whole (no host), such as a
	// rollout stopped at its failure threshold.
	notes []string
}

func newTracker() *tracker {
	return &tracker{hosts: map[string]*hostOutcome{}}
}

// apply records one event and returns the outcome it changed (nil for an
// event about the whole run).
func (t *tracker) apply(ev *arcanosv1.PurgeEvent) *hostOutcome {
	if t.runID == "" {
		t.runID = ev.GetRunId()
	}
	if ev.GetHost() == "" {
		if ev.GetDetail() != "" {
			t.notes = append(t.notes, ev.GetDetail())
		}
		return nil
	}

	o := t.hosts[ev.GetHost()]
	if o == nil {
		o = &hostOutcome{host: ev.GetHost()}
		t.hosts[o.host] = o
		t.order = append(t.order, o)
	}
	switch {
	case isFinal(o.state) && !isFinal(ev.GetState()):
		// A late or repeated event never takes a host back from its end.
	case ev.GetState() == arcanosv1.HostRunState_HOST_RUN_STATE_PHASE_DONE:
		o.state = arcanosv1.HostRunState_HOST_RUN_STATE_RUNNING
	default:
		o.state = ev.GetState()
	}
	if ev.GetDetail() != "" {
		o.detail = ev.GetDetail()
	}
	if p := ev.GetPhase(); p != nil {
		o.addPhase(slimPhase(p))
	}
	if r := ev.GetResult(); r != nil {
		o.result = slim(r)
		if len(o.result.Phases) == 0 {
			// The agent sent its phases by reference: they are the
			// phases reported done.
			o.result.Phases = o.phases
		}
	}
	return o
}

// slim keeps of a result what the progress and the summary show: counts,
// statuses, errors, unauthorized findings and failed actions. A fleet-wide
// run then holds a few hundred bytes per host, not every finding.
func slim(r *arcanosv1.RunResult) *arcanosv1.RunResult {
	out := &arcanosv1.RunResult{RunId: r.GetRunId(), Host: r.GetHost(), DryRun: r.GetDryRun(),
		Status: r.GetStatus(), Errors: r.GetErrors(), Summary: summaryOf(r)}
	for _, p := range r.GetPhases() {
		out.Phases = append(out.Phases, slimPhase(p))
	}
	return out
}

// slimPhase keeps of a phase its name, status, errors, unauthorized
// findings and failed actions.
func slimPhase(p *arcanosv1.PhaseResult) *arcanosv1.PhaseResult {
	sp := &arcanosv1.PhaseResult{Name: p.GetName(), Status: p.GetStatus(), Errors: p.GetErrors()}
	for _, f := range p.GetFindings() {
		if f.GetVerdict() == arcanosv1.Verdict_VERDICT_UNAUTHORIZED {
			sp.Findings = append(sp.Findings, f)
		}
	}
	for _, a := range p.GetActions() {
		if a.GetState() == arcanosv1.ActionState_ACTION_STATE_FAILED {
			sp.Actions = append(sp.Actions, a)
		}
	}
	return sp
}

// addPhase records a phase done, once: a phase reported again (an agent
// re-sends what was not acknowledged) replaces the first report.
func (o *hostOutcome) addPhase(p *arcanosv1.PhaseResult) {
	for i, have := range o.phases {
		if have.GetName() == p.GetName() {
			o.phases[i] = p
			return
		}
	}
	o.phases = append(o.phases, p)
}

// outcomes returns every host's outcome in order of first appearance.
func (t *tracker) outcomes() []*hostOutcome { return t.order }

// isFinal reports whether a host is done with the run, one way or another.
func isFinal(s arcanosv1.HostRunState) bool {
	switch s {
	case arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED,
		arcanosv1.HostRunState_HOST_RUN_STATE_REFUSED,
		arcanosv1.HostRunState_HOST_RUN_STATE_OFFLINE,
		arcanosv1.HostRunState_HOST_RUN_STATE_FAILED,
		arcanosv1.HostRunState_HOST_RUN_STATE_SKIPPED,
		arcanosv1.HostRunState_HOST_RUN_STATE_MISSED:
		return true
	}
	return false
}

// incomplete reports whether the host cannot vouch for itself: it did not
// finish, or it finished with a failed run, phase or action.
func (o *hostOutcome) incomplete() bool {
	if o.state != arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED || o.result == nil {
		return true
	}
	return resultFailed(o.result)
}

// resultFailed applies the agent's own rule (pkg/purge.ExitCode): a failed
// run, a failed or timed-out phase, or a failed action.
func resultFailed(r *arcanosv1.RunResult) bool {
	if r.GetStatus() != arcanosv1.PhaseStatus_PHASE_STATUS_OK {
		return true
	}
	for _, p := range r.GetPhases() {
		if p.GetStatus() == arcanosv1.PhaseStatus_PHASE_STATUS_FAILED ||
			p.GetStatus() == arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT {
			return true
		}
	}
	return summaryOf(r).GetActionsFailed() > 0
}

// summaryOf returns the result's summary, counting it when the agent did not.
func summaryOf(r *arcanosv1.RunResult) *arcanosv1.RunSummary {
	if r.GetSummary() != nil {
		return r.GetSummary()
	}
	return summary.Of(r.GetPhases())
}

// exitCodeOf is the purge's exit code: 4 when any host did not complete, 3
// when all did and some found unauthorized findings, 0 otherwise.
func exitCodeOf(outs []*hostOutcome) int {
	code := ExitOK
	for _, o := range outs {
		if o.incomplete() {
			return ExitIncomplete
		}
		if summaryOf(o.result).GetUnauthorized() > 0 {
			code = ExitUnauthorized
		}
	}
	return code
}
