package phases

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/source"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func TestSourceReportsItsOwnStatus(t *testing.T) {
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })

	cases := []struct {
		name   string
		fn     func(context.Context) (int, error)
		status arcanosv1.PhaseStatus
		items  int32
	}{
		{"ok", func(context.Context) (int, error) { return 7, nil }, arcanosv1.PhaseStatus_PHASE_STATUS_OK, 7},
		{"absent", func(context.Context) (int, error) { return 0, source.Unavailable("no docker socket") },
			arcanosv1.PhaseStatus_PHASE_STATUS_UNAVAILABLE, 0},
		{"broken", func(context.Context) (int, error) { return 0, errors.New("parse error") },
			arcanosv1.PhaseStatus_PHASE_STATUS_FAILED, 0},
		{"hangs ignoring its context", func(context.Context) (int, error) { <-block; return 1, nil },
			arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT, 0},
		{"honours its context", func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() },
			arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT, 0},
		{"panics", func(context.Context) (int, error) { panic("boom") },
			arcanosv1.PhaseStatus_PHASE_STATUS_FAILED, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := newRecorder("detect")
			err := rec.Source(context.Background(), "src", 50*time.Millisecond, c.fn)
			res := rec.seal()
			if len(res.Sources) != 1 {
				t.Fatalf("sources = %v", res.Sources)
			}
			s := res.Sources[0]
			if s.Status != c.status || s.Items != c.items {
				t.Errorf("status %s items %d, want %s %d (reason %q)", s.Status, s.Items, c.status, c.items, s.Reason)
			}
			if (err == nil) != (c.status == arcanosv1.PhaseStatus_PHASE_STATUS_OK) {
				t.Errorf("err = %v for status %s", err, s.Status)
			}
			if c.status != arcanosv1.PhaseStatus_PHASE_STATUS_OK && s.Reason == "" {
				t.Error("a source that is not ok must say why")
			}
		})
	}
}

func TestSealedRecorderDropsLateWrites(t *testing.T) {
	rec := newRecorder("detect")
	rec.Finding(&arcanosv1.Finding{Subject: "early"})
	a := rec.Action(&arcanosv1.Action{Target: "x", State: arcanosv1.ActionState_ACTION_STATE_PLANNED})
	res := rec.seal()

	rec.Finding(&arcanosv1.Finding{Subject: "late"})
	rec.Update(a, arcanosv1.ActionState_ACTION_STATE_DONE, "late")
	rec.Errorf("late")
	if len(res.Findings) != 1 || res.Findings[0].Subject != "early" || len(res.Errors) != 0 {
		t.Fatalf("late writes reached a sealed result: %v", res)
	}
	if a.State != arcanosv1.ActionState_ACTION_STATE_PLANNED {
		t.Fatal("a sealed action changed state")
	}
}

func TestPhaseStatusFromSources(t *testing.T) {
	un := &arcanosv1.SourceResult{Status: arcanosv1.PhaseStatus_PHASE_STATUS_UNAVAILABLE}
	ok := &arcanosv1.SourceResult{Status: arcanosv1.PhaseStatus_PHASE_STATUS_OK}
	bad := &arcanosv1.SourceResult{Status: arcanosv1.PhaseStatus_PHASE_STATUS_FAILED}
	cases := []struct {
		name string
		res  *arcanosv1.PhaseResult
		want arcanosv1.PhaseStatus
	}{
		{"all unavailable", &arcanosv1.PhaseResult{Sources: []*arcanosv1.SourceResult{un, un}}, arcanosv1.PhaseStatus_PHASE_STATUS_UNAVAILABLE},
		{"one unavailable", &arcanosv1.PhaseResult{Sources: []*arcanosv1.SourceResult{un, ok}}, arcanosv1.PhaseStatus_PHASE_STATUS_OK},
		{"one failed source does not fail the phase", &arcanosv1.PhaseResult{Sources: []*arcanosv1.SourceResult{bad, ok}}, arcanosv1.PhaseStatus_PHASE_STATUS_OK},
		{"phase error", &arcanosv1.PhaseResult{Errors: []string{"x"}, Sources: []*arcanosv1.SourceResult{ok}}, arcanosv1.PhaseStatus_PHASE_STATUS_FAILED},
	}
	for _, c := range cases {
		if got := phaseStatus(context.Background(), c.res); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := phaseStatus(ctx, &arcanosv1.PhaseResult{}); got != arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT {
		t.Errorf("expired phase: %s", got)
	}
}
