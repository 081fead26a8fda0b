package metrics

import (
	"slices"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/phases"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func TestPhaseNamesFollowThePurgeSequence(t *testing.T) {
	if !slices.Equal(phaseNames, phases.All) {
		t.Fatalf("phaseNames %v, pkg/phases.All %v: keep them in step", phaseNames, phases.All)
	}
}

func TestUnknownPhaseNamesShareOneLabel(t *testing.T) {
	for name, want := range map[string]string{
		"detect": "detect", "health": "health", "": otherPhase, "a-phase-of-my-own": otherPhase,
	} {
		if got := phaseLabel(name); got != want {
			t.Errorf("phaseLabel(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestRunOutcome(t *testing.T) {
	const (
		fin  = arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED
		fail = arcanosv1.HostRunState_HOST_RUN_STATE_FAILED
		off  = arcanosv1.HostRunState_HOST_RUN_STATE_OFFLINE
		skip = arcanosv1.HostRunState_HOST_RUN_STATE_SKIPPED
	)
	tests := []struct {
		name  string
		hosts []arcanosv1.HostRunState
		own   bool
		want  string
	}{
		{"every host finished", []arcanosv1.HostRunState{fin, fin}, true, OutcomeComplete},
		{"some hosts finished", []arcanosv1.HostRunState{fin, off}, true, OutcomePartial},
		{"no host finished", []arcanosv1.HostRunState{fail, off}, true, OutcomeFailed},
		{"rollout stopped", []arcanosv1.HostRunState{fail, skip, skip}, true, OutcomeStopped},
		{"left by an earlier process", []arcanosv1.HostRunState{fin, fin}, false, OutcomeInterrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &arcanosv1.Run{RunId: "r", Hosts: map[string]arcanosv1.HostRunState{}}
			for i, st := range tt.hosts {
				rec.Hosts[string(rune('a'+i))] = st
			}
			if got := outcome(rec, tt.own); got != tt.want {
				t.Fatalf("outcome = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReportsAreMeasuredOnceAndOnlyForRunsDispatchedHere(t *testing.T) {
	f := newFlights()
	f.created("r1")
	if f.phase("r1", "web-1", 1) {
		t.Fatal("phase of a host never dispatched was measured")
	}
	f.dispatched("r1", "web-1", testNow)
	f.dispatched("r9", "web-1", testNow) // a run not created here: ignored

	steps := []struct {
		name string
		got  bool
		want bool
	}{
		{"first phase", f.phase("r1", "web-1", 1), true},
		{"re-sent phase", f.phase("r1", "web-1", 1), false},
		{"next phase", f.phase("r1", "web-1", 2), true},
		{"phase of a run not created here", f.phase("r9", "web-1", 1), false},
	}
	for _, s := range steps {
		if s.got != s.want {
			t.Errorf("%s: measured %v, want %v", s.name, s.got, s.want)
		}
	}
	if sent, ok := f.result("r1", "web-1"); !ok || !sent.Equal(testNow) {
		t.Fatalf("first result: %v %v, want measured from its dispatch", sent, ok)
	}
	if _, ok := f.result("r1", "web-1"); ok {
		t.Fatal("re-sent result measured twice")
	}
	if f.phase("r1", "web-1", 3) {
		t.Fatal("phase after the result measured")
	}
	if !f.finished("r1") || f.finished("r1") || f.finished("r9") {
		t.Fatal("finished must report a run created here once, and no other")
	}
	if len(f.runs) != 0 {
		t.Fatalf("%d runs still followed after they finished", len(f.runs))
	}
}

func TestResultWithoutSummaryIsCountedFromItsJudgingPhases(t *testing.T) {
	m := New(Options{})
	m.flights.created("r")
	m.flights.dispatched("r", "h", testNow)
	finding := func(v arcanosv1.Verdict) *arcanosv1.Finding { return &arcanosv1.Finding{Verdict: v} }
	m.resultStored("r", "h", &arcanosv1.RunResult{Phases: []*arcanosv1.PhaseResult{
		{Name: "detect", Findings: []*arcanosv1.Finding{
			finding(arcanosv1.Verdict_VERDICT_UNAUTHORIZED), finding(arcanosv1.Verdict_VERDICT_UNKNOWN)},
			Actions: []*arcanosv1.Action{{State: arcanosv1.ActionState_ACTION_STATE_PLANNED}}},
		// services re-lists what detect judged: not counted again.
		{Name: "services", Findings: []*arcanosv1.Finding{finding(arcanosv1.Verdict_VERDICT_UNAUTHORIZED)}},
	}}, testNow)

	for verdict, want := range map[string]float64{"unauthorized": 1, "unknown": 1, "authorized": 0} {
		if got := counter(t, m, "arcanos_controller_findings_total", verdict); got != want {
			t.Errorf("findings %s = %v, want %v", verdict, got, want)
		}
	}
	if got := counter(t, m, "arcanos_controller_actions_total", "planned"); got != 1 {
		t.Errorf("planned actions = %v, want 1", got)
	}
}

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// counter gathers m and returns the value of the counter name whose one
// label has the value label.
func counter(t *testing.T, m *Metrics, name, label string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.GetMetric() {
			if ls := s.GetLabel(); len(ls) == 1 && ls[0].GetValue() == label {
				return s.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("%s{%q} not gathered", name, label)
	return 0
}
