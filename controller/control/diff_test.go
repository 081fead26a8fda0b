package control

import (
	"testing"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func TestDiffComparesOnlyPhasesBothRunsRan(t *testing.T) {
	full := &arcanosv1.RunResult{Phases: []*arcanosv1.PhaseResult{
		{Name: "detect", Findings: []*arcanosv1.Finding{{Kind: "process", Subject: "miner"}}},
		{Name: "health", Findings: []*arcanosv1.Finding{{Kind: "health", Subject: "load"}}},
	}}
	healthOnly := &arcanosv1.RunResult{Phases: []*arcanosv1.PhaseResult{
		{Name: "health", Findings: []*arcanosv1.Finding{{Kind: "health", Subject: "load"}}},
	}}
	both, had := phasesIn(full), phasesIn(healthOnly)
	for p := range both {
		if !had[p] {
			delete(both, p)
		}
	}
	if got := findingsOf(full, both); len(got) != 1 {
		t.Fatalf("compared findings %v; the detect phase the base did not run must be left out", got)
	}
	if !samePhases(nil, nil) || samePhases([]string{"health"}, nil) ||
		!samePhases([]string{"health", "detect"}, []string{"detect", "health"}) {
		t.Fatal("samePhases: order must not matter, and a subset is not the same")
	}
}
