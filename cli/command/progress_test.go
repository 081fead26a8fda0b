package command

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func TestProgressLineShowsEachPhaseAndWhatStoppedAHost(t *testing.T) {
	p := newProgress(&bytes.Buffer{}, phaseNames, 40, 0)
	phase := func(name string, s arcanosv1.PhaseStatus) *arcanosv1.PhaseResult {
		return &arcanosv1.PhaseResult{Name: name, Status: s}
	}
	cases := []struct {
		name string
		o    *hostOutcome
		want string
	}{
		{"queued", &hostOutcome{host: "web-1", state: arcanosv1.HostRunState_HOST_RUN_STATE_QUEUED},
			"web-1  queued"},
		{"running the first phase", &hostOutcome{host: "web-1", state: arcanosv1.HostRunState_HOST_RUN_STATE_RUNNING},
			"web-1  running   detect …"},
		{"phases with every status", &hostOutcome{host: "web-1", state: arcanosv1.HostRunState_HOST_RUN_STATE_RUNNING,
			phases: []*arcanosv1.PhaseResult{phase("detect", ok), phase("terminate", failed),
				phase("startup", arcanosv1.PhaseStatus_PHASE_STATUS_SKIPPED),
				phase("caches", arcanosv1.PhaseStatus_PHASE_STATUS_UNAVAILABLE)}},
			"web-1  running   detect ✓ terminate ✗ startup - caches ? services …"},
		{"refused with the agent's reason", &hostOutcome{host: "db-1", state: arcanosv1.HostRunState_HOST_RUN_STATE_REFUSED,
			detail: "allow_real is false"},
			"db-1   refused   allow_real is false"},
		{"a hostile host name is escaped", &hostOutcome{host: "evil\033[2J", state: arcanosv1.HostRunState_HOST_RUN_STATE_OFFLINE},
			`evil\x1b[2J  offline`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := p.line(c.o, 5); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestProgressPrintsOneLinePerHostWhenTheHostsDoNotFit(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, phaseNames, 6, 80)
	tr := newTracker()
	feed := func(host string, s arcanosv1.HostRunState) {
		ev := event(host, s, "")
		if s == arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED {
			ev.Result = hostResult(host, ok)
		}
		p.update(tr, tr.apply(ev), "")
	}
	for i := range 10 {
		feed(fmt.Sprintf("h%02d", i), arcanosv1.HostRunState_HOST_RUN_STATE_QUEUED)
	}
	mark := out.Len()
	for i := range 10 {
		feed(fmt.Sprintf("h%02d", i), arcanosv1.HostRunState_HOST_RUN_STATE_RUNNING)
		feed(fmt.Sprintf("h%02d", i), arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED)
	}
	tail := out.String()[mark:]
	if strings.Contains(tail, "\033[") {
		t.Fatalf("redrawing although the hosts do not fit the terminal:\n%q", tail)
	}
	lines := strings.Split(strings.TrimSpace(tail), "\n")
	if len(lines) != 10 || !strings.HasPrefix(lines[9], "h09   finished") {
		t.Fatalf("want one line per host as it ends, got:\n%s", tail)
	}
}

func TestProgressCutsLinesToTheTerminalWidth(t *testing.T) {
	p := newProgress(&bytes.Buffer{}, phaseNames, 40, 20)
	got := p.fit("web-1  running   detect ✓ terminate ✓ startup …")
	if len([]rune(got)) != 19 || !strings.HasSuffix(got, "…") {
		t.Fatalf("fit gave %q (%d runes), want 19 runes ending in …", got, len([]rune(got)))
	}
}

func TestTrackerKeepsAHostsFinalStateAndOneReportPerPhase(t *testing.T) {
	tr := newTracker()
	done := event("web-1", arcanosv1.HostRunState_HOST_RUN_STATE_PHASE_DONE, "")
	done.Phase = &arcanosv1.PhaseResult{Name: "detect", Status: ok}
	tr.apply(done)
	tr.apply(done) // re-sent after a reconnect
	tr.apply(event("web-1", arcanosv1.HostRunState_HOST_RUN_STATE_FAILED, "deadline passed"))
	tr.apply(event("web-1", arcanosv1.HostRunState_HOST_RUN_STATE_RUNNING, ""))

	o := tr.outcomes()[0]
	if o.state != arcanosv1.HostRunState_HOST_RUN_STATE_FAILED || o.detail != "deadline passed" || len(o.phases) != 1 {
		t.Fatalf("state %v detail %q phases %d", o.state, o.detail, len(o.phases))
	}
}
