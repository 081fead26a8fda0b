package store

import (
	"testing"
	"time"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestEventsReadBackInAppendOrderPerRun(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)
	mustDo(t, b.CreateRun(ctx, newRun("run-1", t0)))
	mustDo(t, b.CreateRun(ctx, newRun("run-10", t0)))

	states := []arcanosv1.HostRunState{
		arcanosv1.HostRunState_HOST_RUN_STATE_QUEUED,
		arcanosv1.HostRunState_HOST_RUN_STATE_RUNNING,
		arcanosv1.HostRunState_HOST_RUN_STATE_PHASE_DONE,
		arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED,
	}
	var want []*arcanosv1.PurgeEvent
	for i, s := range states {
		e := &arcanosv1.PurgeEvent{RunId: "run-1", Host: "web-1", State: s,
			At: timestamppb.New(t0.Add(time.Duration(i) * time.Second))}
		if s == arcanosv1.HostRunState_HOST_RUN_STATE_PHASE_DONE {
			e.Phase = realisticPhase("detect")
		}
		want = append(want, e)
		mustDo(t, b.AppendEvent(ctx, e))
		// Another run's events interleave in the same bucket.
		mustDo(t, b.AppendEvent(ctx, &arcanosv1.PurgeEvent{RunId: "run-10", Host: "db-1", State: s}))
	}

	got, err := b.Events(ctx, "run-1")
	mustDo(t, err)
	if len(got) != len(want) {
		t.Fatalf("Events(run-1) = %d events, want %d", len(got), len(want))
	}
	for i := range want {
		requireEqual(t, "event", got[i], want[i])
	}

	other, err := b.Events(ctx, "run-10")
	mustDo(t, err)
	if len(other) != len(states) {
		t.Errorf("Events(run-10) = %d events, want %d", len(other), len(states))
	}
}

func TestAppendEventNeedsRunID(t *testing.T) {
	b, _ := openTestStore(t)
	if err := b.AppendEvent(t.Context(), &arcanosv1.PurgeEvent{Host: "web-1"}); err == nil {
		t.Error("AppendEvent without a run id succeeded")
	}
}
