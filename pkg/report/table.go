package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// JSON writes the result as protojson with the default (camelCase) field
// names, so `-o json` and the fleet's messages read the same.
func JSON(w io.Writer, res *arcanosv1.RunResult) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(res)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// Table writes the human summary: phases with their sources, then the
// findings that need a person's eye (all of them when verbose), then the
// actions, then the totals.
func Table(w io.Writer, res *arcanosv1.RunResult, verbose bool) error {
	mode := "real run"
	if res.DryRun {
		mode = "dry run: nothing was changed"
	}
	fmt.Fprintf(w, "arcanos purge on %s (%s), run %s\n\n", Printable(res.Host), mode, Printable(res.RunId))

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PHASE\tSTATUS\tTIME\tFINDINGS\tACTIONS\tNOTES")
	for _, p := range res.Phases {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", p.Name, statusWord(p.Status),
			p.Duration.AsDuration().Round(time.Millisecond), len(p.Findings), len(p.Actions),
			phaseNotes(p))
	}
	tw.Flush()

	fmt.Fprintln(w)
	title := "FINDINGS (unauthorized and unknown; -v shows all)"
	if verbose {
		title = "FINDINGS"
	}
	fmt.Fprintln(w, title)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PHASE\tVERDICT\tKIND\tSUBJECT\tREASON")
	shown := 0
	for _, p := range res.Phases {
		if p.Name == "services" || p.Name == "health" {
			continue
		}
		for _, f := range sortedFindings(p.Findings) {
			if !verbose && f.Verdict != arcanosv1.Verdict_VERDICT_UNAUTHORIZED &&
				f.Verdict != arcanosv1.Verdict_VERDICT_UNKNOWN {
				continue
			}
			if !verbose && f.Verdict == arcanosv1.Verdict_VERDICT_UNKNOWN && p.Name == "startup" {
				continue
			}
			shown++
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Name, verdictWord(f.Verdict), f.Kind,
				clip(f.Subject, 40, verbose), clip(f.Reason, 90, verbose))
		}
	}
	tw.Flush()
	if shown == 0 {
		fmt.Fprintln(w, "  (none)")
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "ACTIONS")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PHASE\tSTATE\tKIND\tTARGET\tBYTES\tDETAIL")
	nActions := 0
	for _, p := range res.Phases {
		for _, a := range p.Actions {
			nActions++
			b := "-"
			if a.BytesReclaimed > 0 {
				b = Bytes(a.BytesReclaimed)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, actionWord(a.State), a.Kind,
				clip(a.Target, 50, verbose), b, clip(a.Detail, 90, verbose))
		}
	}
	tw.Flush()
	if nActions == 0 {
		fmt.Fprintln(w, "  (none)")
	}

	fmt.Fprintln(w)
	writeHealth(w, res)
	if s := res.Summary; s != nil {
		fmt.Fprintf(w, "\n%d unauthorized, %d authorized, %d protected, %d unknown; actions: %d planned, %d done, %d refused, %d failed; %s reclaimable\n",
			s.Unauthorized, s.Authorized, s.Protected, s.Unknown, s.ActionsPlanned,
			s.ActionsDone, s.ActionsRefused, s.ActionsFailed, Bytes(s.BytesReclaimed))
	}
	for _, e := range res.Errors {
		fmt.Fprintf(w, "run error: %s\n", Printable(e))
	}
	return nil
}

func writeHealth(w io.Writer, res *arcanosv1.RunResult) {
	for _, p := range res.Phases {
		if p.Name != "health" {
			continue
		}
		var parts []string
		for _, f := range p.Findings {
			mark := ""
			if f.Evidence["status"] == "warn" {
				mark = "!"
			}
			parts = append(parts, fmt.Sprintf("%s%s: %s", mark, f.Subject, f.Reason))
		}
		if len(parts) > 0 {
			fmt.Fprintln(w, "HEALTH")
			for _, s := range parts {
				fmt.Fprintf(w, "  %s\n", s)
			}
		}
	}
}

// phaseNotes names the sources that were not ok, with their reason.
func phaseNotes(p *arcanosv1.PhaseResult) string {
	var notes []string
	for _, s := range p.Sources {
		if s.Status != arcanosv1.PhaseStatus_PHASE_STATUS_OK {
			notes = append(notes, fmt.Sprintf("%s %s: %s", s.Name, statusWord(s.Status), clip(s.Reason, 60, false)))
		}
	}
	for _, e := range p.Errors {
		notes = append(notes, clip(e, 60, false))
	}
	return strings.Join(notes, "; ")
}

// clip makes s safe for a terminal and cuts it to n runes unless verbose.
func clip(s string, n int, verbose bool) string {
	s = Printable(s)
	r := []rune(s)
	if verbose || len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
