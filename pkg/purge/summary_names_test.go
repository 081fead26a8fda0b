package purge

import (
	"testing"

	"github.com/arcanos-dev/arcanos/pkg/phases"
	"github.com/arcanos-dev/arcanos/pkg/summary"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// pkg/summary names the phases whose findings it skips without importing
// pkg/phases; this keeps the two in step.
func TestSummarySkipsTheFindingsOfServicesAndHealthByTheirRealNames(t *testing.T) {
	finding := []*arcanosv1.Finding{{Verdict: arcanosv1.Verdict_VERDICT_AUTHORIZED}}
	var ps []*arcanosv1.PhaseResult
	for _, name := range phases.All {
		ps = append(ps, &arcanosv1.PhaseResult{Name: name, Findings: finding})
	}
	want := int32(len(phases.All) - 2) // all but services and health
	if got := summary.Of(ps).GetAuthorized(); got != want {
		t.Fatalf("summary of one finding per phase counts %d, want %d (not %s and %s)",
			got, want, phases.Services, phases.Health)
	}
}
