package command

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// progress shows a running purge on a terminal: one line per host, redrawn
// in place as events arrive, like
//
//	web-1  running   detect ✓ terminate ✓ startup …
//
// When the hosts do not fit the terminal's height, it prints one line per
// host as each host ends instead, so the screen never scrolls mid-redraw.
type progress struct {
	w      io.Writer
	phases []string // the phases asked for, in order
	rows   int      // terminal height; 0 when unknown
	cols   int      // terminal width; 0 when unknown

	drawn     int  // lines drawn by the last redraw
	scrolling bool // too many hosts: one line per host as it ends
}

// defaultRows is the height assumed when the terminal's is unknown.
const defaultRows = 24

func newProgress(w io.Writer, phases []string, rows, cols int) *progress {
	if rows <= 0 {
		rows = defaultRows
	}
	return &progress{w: w, phases: phases, rows: rows, cols: cols}
}

// header prints the run's first line.
func (p *progress) header(runID string, dry bool, sel *arcanosv1.Selector) {
	fmt.Fprintf(p.w, "run %s: %s on %s (Ctrl-C stops watching; the run goes on)\n",
		clean(runID), modeText(dry), selectorText(sel))
}

// update shows the event that changed o (nil for a note about the run).
func (p *progress) update(t *tracker, o *hostOutcome, note string) {
	outs := t.outcomes()
	if !p.scrolling && len(outs) >= p.rows-2 {
		p.scrolling = true
		fmt.Fprintf(p.w, "(%d hosts: more than the terminal shows; one line per host as it ends)\n", len(outs))
		p.drawn = 0
	}

	if p.scrolling {
		if note != "" {
			fmt.Fprintln(p.w, p.fit(clean(note)))
		}
		if o != nil && isFinal(o.state) {
			fmt.Fprintln(p.w, p.fit(p.line(o, hostWidth(outs))))
		}
		return
	}

	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\033[%dA", p.drawn)
	}
	if note != "" {
		fmt.Fprintf(p.w, "\r\033[K%s\n", p.fit(clean(note)))
	}
	width := hostWidth(outs)
	for _, h := range outs {
		fmt.Fprintf(p.w, "\r\033[K%s\n", p.fit(p.line(h, width)))
	}
	p.drawn = len(outs)
}

// line renders one host: name, state, then its phases or what stopped it.
func (p *progress) line(o *hostOutcome, width int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s  %-9s", width, clean(o.host), stateWord(o.state))

	switch o.state {
	case arcanosv1.HostRunState_HOST_RUN_STATE_QUEUED:
		return strings.TrimRight(b.String(), " ")
	case arcanosv1.HostRunState_HOST_RUN_STATE_RUNNING, arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED:
	default:
		if o.detail != "" {
			b.WriteString(" " + clean(o.detail))
		}
		return strings.TrimRight(b.String(), " ")
	}

	done := map[string]*arcanosv1.PhaseResult{}
	for _, ph := range o.phases {
		done[ph.GetName()] = ph
	}
	names := append([]string(nil), p.phases...)
	for _, ph := range o.phases {
		if !slices.Contains(names, ph.GetName()) {
			names = append(names, ph.GetName())
		}
	}
	for _, name := range names {
		ph, ok := done[name]
		if !ok {
			if o.state == arcanosv1.HostRunState_HOST_RUN_STATE_RUNNING {
				b.WriteString(" " + clean(name) + " …")
			}
			break
		}
		b.WriteString(" " + clean(name) + " " + phaseMark(ph.GetStatus()))
	}

	if r := o.result; r != nil {
		switch s := summaryOf(r); {
		case resultFailed(r):
			b.WriteString("  failed")
		case s.GetUnauthorized() > 0:
			fmt.Fprintf(&b, "  %d unauthorized", s.GetUnauthorized())
		default:
			b.WriteString("  all authorized")
		}
	}
	return b.String()
}

// phaseMark is the one-character status of a phase done.
func phaseMark(s arcanosv1.PhaseStatus) string {
	switch s {
	case arcanosv1.PhaseStatus_PHASE_STATUS_OK:
		return "✓"
	case arcanosv1.PhaseStatus_PHASE_STATUS_FAILED, arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT:
		return "✗"
	case arcanosv1.PhaseStatus_PHASE_STATUS_SKIPPED:
		return "-"
	}
	return "?"
}

// fit cuts a line to the terminal's width so that it never wraps (a wrapped
// line would throw off the redraw).
func (p *progress) fit(s string) string {
	if p.cols <= 1 || utf8.RuneCountInString(s) < p.cols {
		return s
	}
	r := []rune(s)
	return string(r[:p.cols-2]) + "…"
}

func hostWidth(outs []*hostOutcome) int {
	w := 4
	for _, o := range outs {
		w = max(w, utf8.RuneCountInString(clean(o.host)))
	}
	return w
}
