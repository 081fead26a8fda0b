package dispatch

import (
	"slices"
	"testing"

	"github.com/arcanos-dev/arcanos/pkg/phases"
)

func TestPhaseNamesFollowThePurgeSequence(t *testing.T) {
	if !slices.Equal(phaseNames, phases.All) {
		t.Fatalf("phaseNames %v, pkg/phases.All %v: keep them in step", phaseNames, phases.All)
	}
}
