package dispatch

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/arcanos-dev/arcanos/pkg/report"
	"github.com/arcanos-dev/arcanos/pkg/summary"
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
		w := fmt.Sprintf("phase %s %s", p.GetName(), report.StatusWord(p.GetStatus()))
		if errs := p.GetErrors(); len(errs) > 0 {
			w += " (" + errs[len(errs)-1] + ")"
		}
		why = append(why, w)
	}
	for _, src := range p.GetSources() {
		if bad(src.GetStatus()) {
			why = append(why, fmt.Sprintf("%s source %s %s: %s", p.GetName(), src.GetName(),
				report.StatusWord(src.GetStatus()), src.GetReason()))
		}
	}
	return why
}

// referenced reports whether a run report left its phases out: the
// controller holds them from the host's phase reports.
func referenced(rep *arcanosv1.RunReport) bool {
	return rep.GetPhasesReported() > 0 && len(rep.GetResult().GetPhases()) == 0
}

// phaseMark is what the controller keeps of one stored phase report: its
// name, what makes it partial ("" when nothing), and its counts.
type phaseMark struct {
	name  string
	why   string
	count *arcanosv1.RunSummary
}

func markOf(p *arcanosv1.PhaseResult) phaseMark {
	return phaseMark{name: p.GetName(), why: strings.Join(phaseProblems(p), "; "),
		count: summary.Of([]*arcanosv1.PhaseResult{p})}
}

// notePhase records that the phase report seq of h is stored; r.mu is
// held. Reports past maxTrackedSeq are noted under maxTrackedSeq+1 only, so
// an agent cannot grow the map.
func (h *hostRun) notePhase(seq int32, p *arcanosv1.PhaseResult) {
	if h.phases == nil {
		h.phases = make(map[int32]phaseMark, 6)
	}
	h.phases[trackedSeq(seq)] = markOf(p)
}

func trackedSeq(seq int32) int32 {
	if seq > maxTrackedSeq || seq < 0 {
		return maxTrackedSeq + 1
	}
	return seq
}

// partialWhy says what makes h's result partial; r.mu is held.
func (h *hostRun) partialWhy(res *arcanosv1.RunResult, byRef bool, reported int32, requested []string) string {
	if !byRef {
		return wholeWhy(res, requested)
	}
	return referencedWhy(h.phases, reported, requested, res.GetSummary())
}

// wholeWhy judges a result that carries its phases by the rules of one sent
// by reference (its phases numbered in the order they come), but for one:
//
// LIMITATION: a whole result need not hold every phase the run asked for
// (agents list skipped phases too; this controller's tests' fake agents
// send only the phases they exercise); one sent by reference must.
func wholeWhy(res *arcanosv1.RunResult, requested []string) string {
	marks := make(map[int32]phaseMark, len(res.GetPhases()))
	for i, p := range res.GetPhases() {
		marks[trackedSeq(int32(i+1))] = markOf(p)
	}
	n := int32(min(len(res.GetPhases()), maxTrackedSeq+1))
	return judgeMarks(marks, n, requested, res.GetSummary(), false)
}

// referencedWhy says what makes a result sent by reference partial, from
// the marks of its stored phase reports by seq: every seq from 1 to
// reported must be stored and none other; each a phase the run asked for
// (requested; empty: all), once; none partial itself; and together they
// must count what the result's summary counts.
func referencedWhy(stored map[int32]phaseMark, reported int32, requested []string,
	sum *arcanosv1.RunSummary) string {
	return judgeMarks(stored, reported, requested, sum, true)
}

// judgeMarks is referencedWhy; all says every requested phase must be there.
func judgeMarks(stored map[int32]phaseMark, reported int32, requested []string,
	sum *arcanosv1.RunSummary, all bool) string {
	if reported > maxTrackedSeq {
		return fmt.Sprintf("the agent referred to %d phase reports, more than the %d a result may refer to",
			reported, maxTrackedSeq)
	}
	if len(requested) == 0 {
		requested = phaseNames
	}
	var why, missing, extra []string
	seen := map[string]int32{}
	counted := &arcanosv1.RunSummary{}
	for seq := int32(1); seq <= reported; seq++ {
		m, ok := stored[seq]
		if !ok {
			missing = append(missing, fmt.Sprint(seq))
			continue
		}
		if m.why != "" {
			why = append(why, m.why)
		}
		switch first, dup := seen[m.name]; {
		case dup:
			why = append(why, fmt.Sprintf("phase %s reported twice (seq %d and %d)", m.name, first, seq))
		case !slices.Contains(requested, m.name):
			why = append(why, fmt.Sprintf("phase report %d is %q, not a phase the run asked for", seq, m.name))
		}
		seen[m.name] = seq
		addCounts(counted, m.count)
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
	} else if all {
		var absent []string
		for _, name := range requested {
			if _, ok := seen[name]; !ok {
				absent = append(absent, name)
			}
		}
		if len(absent) > 0 {
			why = append(why, fmt.Sprintf("phase(s) %s asked for but not in the result",
				strings.Join(absent, ", ")))
		}
	}
	if len(extra) > 0 {
		why = append(why, fmt.Sprintf("phase report(s) %s stored beyond the %d the result names",
			strings.Join(extra, ", "), reported))
	}
	if len(missing) == 0 && sum != nil && !sameCounts(sum, counted) {
		why = append(why, fmt.Sprintf("the result counts %d unauthorized, %d authorized, %d actions done; "+
			"its phase reports hold %d, %d, %d", sum.GetUnauthorized(), sum.GetAuthorized(), sum.GetActionsDone(),
			counted.GetUnauthorized(), counted.GetAuthorized(), counted.GetActionsDone()))
	}
	return strings.Join(why, "; ")
}

func addCounts(to, c *arcanosv1.RunSummary) {
	to.Authorized += c.GetAuthorized()
	to.Unauthorized += c.GetUnauthorized()
	to.Protected += c.GetProtected()
	to.Unknown += c.GetUnknown()
	to.ActionsPlanned += c.GetActionsPlanned()
	to.ActionsDone += c.GetActionsDone()
	to.ActionsRefused += c.GetActionsRefused()
	to.ActionsFailed += c.GetActionsFailed()
}

// sameCounts compares what both summaries count, bytes aside (an agent
// reports the bytes its cleanup reclaimed, which actions may round).
func sameCounts(a, b *arcanosv1.RunSummary) bool {
	return a.GetAuthorized() == b.GetAuthorized() && a.GetUnauthorized() == b.GetUnauthorized() &&
		a.GetProtected() == b.GetProtected() && a.GetUnknown() == b.GetUnknown() &&
		a.GetActionsPlanned() == b.GetActionsPlanned() && a.GetActionsDone() == b.GetActionsDone() &&
		a.GetActionsRefused() == b.GetActionsRefused() && a.GetActionsFailed() == b.GetActionsFailed()
}

// modeWhy says what is wrong when a result's mode is not its run's: a
// result saying it was real for a dry run (or the reverse) does not
// answer the run.
func modeWhy(res *arcanosv1.RunResult, dryRun bool) string {
	if res.GetDryRun() == dryRun {
		return ""
	}
	return fmt.Sprintf("the result says dry_run=%v, the run was dry_run=%v", res.GetDryRun(), dryRun)
}

// joinWhy joins the non-empty reasons.
func joinWhy(whys ...string) string {
	var out []string
	for _, w := range whys {
		if w != "" {
			out = append(out, w)
		}
	}
	return strings.Join(out, "; ")
}
