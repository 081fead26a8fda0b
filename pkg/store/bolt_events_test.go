package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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

// eventsOf builds n events of host in runID, told apart by their detail.
func eventsOf(runID, host string, from, n int) []*arcanosv1.PurgeEvent {
	list := make([]*arcanosv1.PurgeEvent, n)
	for i := range list {
		list[i] = &arcanosv1.PurgeEvent{RunId: runID, Host: host,
			State:  arcanosv1.HostRunState_HOST_RUN_STATE_PHASE_DONE,
			Detail: fmt.Sprintf("%s event %d", host, from+i)}
	}
	return list
}

// requireEvents fails unless runID's stored events are want, in order.
func requireEvents(t *testing.T, b *Bolt, runID string, want []*arcanosv1.PurgeEvent) {
	t.Helper()
	got, err := b.Events(t.Context(), runID)
	mustDo(t, err)
	if len(got) != len(want) {
		t.Fatalf("Events(%s) = %d events, want %d", runID, len(got), len(want))
	}
	for i := range want {
		requireEqual(t, fmt.Sprintf("event %d of %s", i, runID), got[i], want[i])
	}
}

func TestAppendEventsKeepsSliceOrderWithinAndAcrossCalls(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)
	mustDo(t, b.CreateRun(ctx, newRun("run-1", t0)))
	mustDo(t, b.CreateRun(ctx, newRun("run-2", t0)))

	// Two runs and two hosts interleave in one call; a second call and a
	// single AppendEvent follow.
	first := append(eventsOf("run-1", "web-1", 0, 3), eventsOf("run-2", "db-1", 0, 2)...)
	first = append(first, eventsOf("run-1", "web-2", 0, 2)...)
	first = append(first, eventsOf("run-1", "web-1", 3, 2)...)
	second := append(eventsOf("run-2", "db-1", 2, 2), eventsOf("run-1", "web-1", 5, 1)...)
	last := eventsOf("run-1", "web-2", 2, 1)[0]

	mustDo(t, b.AppendEvents(ctx, first))
	mustDo(t, b.AppendEvents(ctx, second))
	mustDo(t, b.AppendEvent(ctx, last))

	var wantRun1, wantRun2 []*arcanosv1.PurgeEvent
	for _, e := range append(append(first, second...), last) {
		if e.GetRunId() == "run-1" {
			wantRun1 = append(wantRun1, e)
		} else {
			wantRun2 = append(wantRun2, e)
		}
	}
	requireEvents(t, b, "run-1", wantRun1)
	requireEvents(t, b, "run-2", wantRun2)
}

func TestAppendEventsStoresTheRestWhenARunIsMissing(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)
	mustDo(t, b.CreateRun(ctx, newRun("run-1", t0)))
	mustDo(t, b.CreateRun(ctx, newRun("pruned", t0.Add(-48*time.Hour))))
	mustDo(t, b.AppendEvent(ctx, eventsOf("pruned", "web-9", 0, 1)[0]))
	n, err := b.Prune(ctx, 24*time.Hour, 0, t0)
	mustDo(t, err)
	if n != 1 {
		t.Fatalf("Prune deleted %d runs, want 1 (run pruned)", n)
	}

	kept := eventsOf("run-1", "web-1", 0, 2)
	batch := []*arcanosv1.PurgeEvent{kept[0]}
	batch = append(batch, eventsOf("ghost", "web-2", 0, 2)...)
	batch = append(batch, kept[1])
	batch = append(batch, eventsOf("pruned", "web-9", 1, 1)...)

	err = b.AppendEvents(ctx, batch)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("AppendEvents with unknown runs: error = %v, want ErrNotFound", err)
	}
	for _, name := range []string{"ghost", "pruned", "3 not stored"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %q", err, name)
		}
	}
	if strings.Contains(err.Error(), "run-1") {
		t.Errorf("error %q names run-1, whose events were stored", err)
	}
	requireEvents(t, b, "run-1", kept)
}

func TestAppendEventsSkipsAnEventWithoutRunID(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)
	mustDo(t, b.CreateRun(ctx, newRun("run-1", t0)))

	kept := eventsOf("run-1", "web-1", 0, 2)
	batch := []*arcanosv1.PurgeEvent{kept[0], {Host: "web-2"}, kept[1]}
	err := b.AppendEvents(ctx, batch)
	if err == nil || !strings.Contains(err.Error(), "run id is empty") {
		t.Fatalf("AppendEvents with an empty run id: error = %v, want one saying so", err)
	}
	if errors.Is(err, ErrNotFound) {
		t.Errorf("error %q wraps ErrNotFound, but no run was unknown", err)
	}
	requireEvents(t, b, "run-1", kept)
}

func TestAppendEventsOfNothingIsNil(t *testing.T) {
	b, _ := openTestStore(t)
	for name, events := range map[string][]*arcanosv1.PurgeEvent{"nil": nil, "empty": {}} {
		if err := b.AppendEvents(t.Context(), events); err != nil {
			t.Errorf("AppendEvents(%s) = %v, want nil", name, err)
		}
	}
}

func TestAppendEventsWithEndedContextStoresNothing(t *testing.T) {
	b, _ := openTestStore(t)
	mustDo(t, b.CreateRun(t.Context(), newRun("run-1", t0)))

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := b.AppendEvents(ctx, eventsOf("run-1", "web-1", 0, 3))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("AppendEvents with a cancelled context: error = %v, want context.Canceled", err)
	}
	requireEvents(t, b, "run-1", nil)
}

// Concurrent calls share commits, and writes to an unknown run fail inside
// those commits, which makes bbolt roll back and re-run the others: no
// event may be lost or take another's sequence, and each call's events
// must stay in order.
func TestConcurrentAppendEventsLoseNothing(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)
	mustDo(t, b.CreateRun(ctx, newRun("run-1", t0)))

	const writers, calls, perCall = 32, 4, 8
	var wg sync.WaitGroup
	errs := make(chan error, writers*calls*2)
	for w := range writers {
		host := fmt.Sprintf("web-%02d", w)
		wg.Go(func() {
			for c := range calls {
				errs <- b.AppendEvents(ctx, eventsOf("run-1", host, c*perCall, perCall))
			}
		})
		wg.Go(func() {
			for range calls {
				err := b.PutPhase(ctx, "ghost", host, 1, &arcanosv1.PhaseResult{})
				if !errors.Is(err, ErrNotFound) {
					errs <- fmt.Errorf("PutPhase on an unknown run: %v, want ErrNotFound", err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		mustDo(t, err)
	}

	got, err := b.Events(ctx, "run-1")
	mustDo(t, err)
	if len(got) != writers*calls*perCall {
		t.Fatalf("Events(run-1) = %d events, want %d", len(got), writers*calls*perCall)
	}
	next := map[string]int{}
	for _, e := range got {
		want := fmt.Sprintf("%s event %d", e.GetHost(), next[e.GetHost()])
		if e.GetDetail() != want {
			t.Fatalf("event of %s out of order: %q, want %q", e.GetHost(), e.GetDetail(), want)
		}
		next[e.GetHost()]++
	}
}
