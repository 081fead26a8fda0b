package command

import (
	"fmt"
	"io"
	"strings"

	"github.com/arcanos-dev/arcanos/pkg/report"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// writeSummary writes the per-host summary of a run from its final results:
// findings by verdict and actions by state per host, the unauthorized
// findings (at most limit of them, 0 for all), the hosts that did not
// complete and why, and one closing line of counts.
func writeSummary(w io.Writer, runID string, outs []*hostOutcome, notes []string, limit int) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "HOST\tSTATE\tAUTHORIZED\tUNAUTHORIZED\tPROTECTED\tUNKNOWN\tPLANNED\tDONE\tREFUSED\tFAILED\tRECLAIMED")
	for _, o := range outs {
		if o.result == nil {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\n", clean(o.host), stateWord(o.state))
			continue
		}
		s := summaryOf(o.result)
		state := stateWord(o.state)
		if o.state == arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED && resultFailed(o.result) {
			state += " (incomplete)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", clean(o.host), state,
			s.Authorized, s.Unauthorized, s.Protected, s.Unknown,
			s.ActionsPlanned, s.ActionsDone, s.ActionsRefused, s.ActionsFailed, report.Bytes(s.BytesReclaimed))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	writeUnauthorized(w, runID, outs, limit)
	writeIncomplete(w, outs)
	for _, n := range notes {
		fmt.Fprintf(w, "\nnote: %s\n", clean(n))
	}
	_, err := fmt.Fprintf(w, "\n%s\n", closingLine(outs))
	return err
}

// writeUnauthorized lists every unauthorized finding, host by host.
func writeUnauthorized(w io.Writer, runID string, outs []*hostOutcome, limit int) {
	total := 0
	for _, o := range outs {
		total += int(summaryOf(o.result).GetUnauthorized())
	}
	if total == 0 {
		return
	}

	fmt.Fprintln(w, "\nUnauthorized:")
	tw := newTable(w)
	shown, listed := 0, 0
	for _, o := range outs {
		for _, p := range o.result.GetPhases() {
			for _, f := range p.GetFindings() {
				if f.GetVerdict() != arcanosv1.Verdict_VERDICT_UNAUTHORIZED {
					continue
				}
				listed++
				if limit > 0 && shown == limit {
					continue
				}
				shown++
				subject := f.GetSubject()
				if pid := f.GetEvidence()["pid"]; pid != "" {
					subject += " (pid " + pid + ")"
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", clean(o.host), clean(p.GetName()),
					clean(f.GetKind()), clean(subject), clean(f.GetReason()))
			}
		}
	}
	_ = tw.Flush()
	if shown < listed {
		fmt.Fprintf(w, "  … and %d more: arcanosctl runs show %s -o json\n", listed-shown, clean(runID))
	}
	if listed < total {
		fmt.Fprintf(w, "  … and %d more that the agents counted but could not send (reports too large or "+
			"lost): the hosts' daemon-scan.log has them\n", total-listed)
	}
}

// writeIncomplete says why each host that did not complete did not. Hosts
// stopped for the same reason (a stopped rollout skips many) share a line.
func writeIncomplete(w io.Writer, outs []*hostOutcome) {
	type group struct {
		state string
		why   string
		hosts []string
	}
	var groups []*group
	index := map[[2]string]*group{}
	for _, o := range outs {
		if !o.incomplete() {
			continue
		}
		// The controller's reason first: it judged the result as a whole.
		why := ""
		if o.state == arcanosv1.HostRunState_HOST_RUN_STATE_FAILED {
			why = o.detail
		}
		if why == "" && o.result != nil {
			why = strings.Join(failures(o.result), "; ")
		}
		if why == "" {
			why = o.detail
		}
		if why == "" {
			why = "no reason given"
		}
		state := stateWord(o.state)
		g := index[[2]string{state, why}]
		if g == nil {
			g = &group{state: state, why: why}
			index[[2]string{state, why}] = g
			groups = append(groups, g)
		}
		g.hosts = append(g.hosts, clean(o.host))
	}
	if len(groups) == 0 {
		return
	}

	fmt.Fprintln(w, "\nNot completed:")
	for _, g := range groups {
		if len(g.hosts) == 1 {
			fmt.Fprintf(w, "  %s  %s: %s\n", g.hosts[0], g.state, clean(g.why))
			continue
		}
		names := strings.Join(g.hosts[:min(len(g.hosts), 5)], ", ")
		if len(g.hosts) > 5 {
			names += fmt.Sprintf(" and %d more", len(g.hosts)-5)
		}
		fmt.Fprintf(w, "  %s  %s (%d hosts): %s\n", names, g.state, len(g.hosts), clean(g.why))
	}
}

// failures lists what made a finished run fail: run errors, failed phases,
// failed actions.
func failures(r *arcanosv1.RunResult) []string {
	out := append([]string(nil), r.GetErrors()...)
	for _, p := range r.GetPhases() {
		if p.GetStatus() == arcanosv1.PhaseStatus_PHASE_STATUS_FAILED ||
			p.GetStatus() == arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT {
			why := fmt.Sprintf("phase %s %s", p.GetName(), report.StatusWord(p.GetStatus()))
			if errs := p.GetErrors(); len(errs) > 0 {
				why += ": " + errs[len(errs)-1]
			}
			out = append(out, why)
		}
		for _, a := range p.GetActions() {
			if a.GetState() == arcanosv1.ActionState_ACTION_STATE_FAILED {
				out = append(out, fmt.Sprintf("%s %s failed: %s", a.GetKind(), a.GetTarget(), a.GetDetail()))
			}
		}
	}
	if len(out) == 0 && r.GetStatus() != arcanosv1.PhaseStatus_PHASE_STATUS_OK {
		out = append(out, "run "+report.StatusWord(r.GetStatus()))
	}
	return out
}

// closingLine counts hosts by state and the unauthorized findings.
func closingLine(outs []*hostOutcome) string {
	counts := map[arcanosv1.HostRunState]int{}
	var order []arcanosv1.HostRunState
	unauthorized, hostsWith := 0, 0
	for _, o := range outs {
		if counts[o.state] == 0 {
			order = append(order, o.state)
		}
		counts[o.state]++
		if n := int(summaryOf(o.result).GetUnauthorized()); n > 0 {
			unauthorized += n
			hostsWith++
		}
	}

	parts := make([]string, 0, len(order))
	for _, s := range order {
		parts = append(parts, fmt.Sprintf("%d %s", counts[s], stateWord(s)))
	}
	line := fmt.Sprintf("%d host(s): %s", len(outs), strings.Join(parts, ", "))
	if unauthorized == 0 {
		return line + "; no unauthorized findings"
	}
	return fmt.Sprintf("%s; %d unauthorized finding(s) on %d host(s)", line, unauthorized, hostsWith)
}
