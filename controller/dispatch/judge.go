package dispatch

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// resultState maps a host's result to its final state in the run. A result
// that could not vouch for the host (the run failed or timed out, a phase
// failed or timed out, a source failed or timed out, a phase never reached
// the controller) is FAILED with the reason, as the agent's own exit code 1
// would say: a partial result must never read as a clean "finished". why is
// what makes the result's phases partial, "" when nothing does.
func resultState(res *arcanosv1.RunResult, why string) (arcanosv1.HostRunState, string) {
	if res.GetStatus() != arcanosv1.PhaseStatus_PHASE_STATUS_OK {
		detail := "the run could not complete"
		if errs := res.GetErrors(); len(errs) > 0 {
			detail += ": " + strings.Join(errs, "; ")
		}
		return arcanosv1.HostRunState_HOST_RUN_STATE_FAILED, detail
	}
	if why != "" {
		return arcanosv1.HostRunState_HOST_RUN_STATE_FAILED, "partial result: " + why
	}
	s := res.GetSummary()
	return arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED, fmt.Sprintf(
		"%d unauthorized, %d authorized; actions: %d planned, %d done, %d refused, %d failed",
		s.GetUnauthorized(), s.GetAuthorized(), s.GetActionsPlanned(), s.GetActionsDone(),
		s.GetActionsRefused(), s.GetActionsFailed())
}

// partial names what makes phases incomplete, or "" when nothing does.
func partial(phases []*arcanosv1.PhaseResult) string {
	var why []string
	for _, p := range phases {
		why = append(why, phaseProblems(p)...)
	}
	return strings.Join(why, "; ")
}

// phaseProblems lists what makes one phase incomplete: the phase or one of
// its sources failed or timed out. An unavailable source (no Docker on the
// host) is absent, not broken.
func phaseProblems(p *arcanosv1.PhaseResult) []string {
	bad := func(st arcanosv1.PhaseStatus) bool {
		return st == arcanosv1.PhaseStatus_PHASE_STATUS_FAILED ||
			st == arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT
	}
	var why []string
	if bad(p.GetStatus()) {
		why = append(why, fmt.Sprintf("phase %s %s", p.GetName(), statusWord(p.GetStatus())))
	}
	for _, src := range p.GetSources() {
		if bad(src.GetStatus()) {
			why = append(why, fmt.Sprintf("%s source %s %s: %s", p.GetName(), src.GetName(),
				statusWord(src.GetStatus()), src.GetReason()))
		}
	}
	return why
}

func statusWord(s arcanosv1.PhaseStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "PHASE_STATUS_"))
}

// referenced reports whether a run report left its phases out: the
// controller holds them from the host's phase reports.
func referenced(rep *arcanosv1.RunReport) bool {
	return rep.GetPhasesReported() > 0 && len(rep.GetResult().GetPhases()) == 0
}

// notePhase records that the phase report seq of h is stored, and what
// makes it partial; r.mu is held. Reports past maxTrackedSeq are noted
// under maxTrackedSeq+1 only, so an agent cannot grow the map.
func (h *hostRun) notePhase(seq int32, p *arcanosv1.PhaseResult) {
	if h.phases == nil {
		h.phases = make(map[int32]string, 6)
	}
	h.phases[trackedSeq(seq)] = strings.Join(phaseProblems(p), "; ")
}

func trackedSeq(seq int32) int32 {
	if seq > maxTrackedSeq || seq < 0 {
		return maxTrackedSeq + 1
	}
	return seq
}

// partialWhy says what makes h's result partial; r.mu is held.
func (h *hostRun) partialWhy(res *arcanosv1.RunResult, byRef bool, reported int32) string {
	if !byRef {
		return partial(res.GetPhases())
	}
	return referencedWhy(h.phases, reported)
}

// referencedWhy says what makes a result sent by reference partial, from
// the problems of each stored phase report by seq: every seq from 1 to
// reported must be stored, none other, and none may be partial itself.
func referencedWhy(stored map[int32]string, reported int32) string {
	if reported > maxTrackedSeq {
		return fmt.Sprintf("the agent referred to %d phase reports, more than the %d a result may refer to",
			reported, maxTrackedSeq)
	}
	var why, missing, extra []string
	for seq := int32(1); seq <= reported; seq++ {
		w, ok := stored[seq]
		switch {
		case !ok:
			missing = append(missing, fmt.Sprint(seq))
		case w != "":
			why = append(why, w)
		}
	}
	for _, seq := range slices.Sorted(maps.Keys(stored)) {
		switch {
		case seq == maxTrackedSeq+1:
			extra = append(extra, fmt.Sprintf("above %d", maxTrackedSeq))
		case seq < 1 || seq > reported:
			extra = append(extra, fmt.Sprint(seq))
		}
	}
	if len(missing) > 0 {
		why = append(why, fmt.Sprintf("phase report(s) %s of %d never reached the controller",
			strings.Join(missing, ", "), reported))
	}
	if len(extra) > 0 {
		why = append(why, fmt.Sprintf("phase report(s) %s stored beyond the %d the result names",
			strings.Join(extra, ", "), reported))
	}
	return strings.Join(why, "; ")
}
