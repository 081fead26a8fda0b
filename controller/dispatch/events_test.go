package dispatch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/arcanos-dev/arcanos/pkg/store"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func TestStoredEventKeepsEverythingButThePayload(t *testing.T) {
	phase := &arcanosv1.PhaseResult{Name: "detect", Findings: []*arcanosv1.Finding{{Subject: "sshd"}}}
	result := &arcanosv1.RunResult{RunId: "r1", Host: "web-1", Phases: []*arcanosv1.PhaseResult{phase}}
	e := &arcanosv1.PurgeEvent{
		RunId: "r1", Host: "web-1", State: arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED,
		Phase: phase, Result: result, Detail: "1 unauthorized", At: timestamppb.Now(),
	}

	got := withoutPayload(e)

	want := proto.Clone(e).(*arcanosv1.PurgeEvent)
	want.Phase, want.Result = nil, nil
	if !proto.Equal(got, want) {
		t.Fatalf("stored event %v, want %v", got, want)
	}
	if e.GetPhase() != phase || e.GetResult() != result {
		t.Fatal("the emitted event lost its payload")
	}
}

// A field added to PurgeEvent later must reach the stored copy too: the
// copy drops the two payload fields by number, so this checks that those
// numbers still name phase and result and that every other field is kept.
func TestStoredEventDropsOnlyPhaseAndResult(t *testing.T) {
	e := &arcanosv1.PurgeEvent{}
	m := e.ProtoReflect()
	fields := m.Descriptor().Fields()
	if fields.ByNumber(eventPhaseField).Name() != "phase" || fields.ByNumber(eventResultField).Name() != "result" {
		t.Fatalf("PurgeEvent fields %d and %d are %s and %s, not phase and result", eventPhaseField,
			eventResultField, fields.ByNumber(eventPhaseField).Name(), fields.ByNumber(eventResultField).Name())
	}
	for i := range fields.Len() {
		fd := fields.Get(i)
		switch fd.Kind() {
		case protoreflect.MessageKind:
			m.Set(fd, protoreflect.ValueOfMessage(m.NewField(fd).Message()))
		case protoreflect.StringKind:
			m.Set(fd, protoreflect.ValueOfString("x"))
		case protoreflect.EnumKind:
			m.Set(fd, protoreflect.ValueOfEnum(1))
		default:
			t.Fatalf("field %s of kind %s: teach this test to set it", fd.Name(), fd.Kind())
		}
	}

	got := withoutPayload(e).ProtoReflect()
	for i := range fields.Len() {
		fd := fields.Get(i)
		payload := fd.Number() == eventPhaseField || fd.Number() == eventResultField
		if got.Has(fd) == payload {
			t.Errorf("field %s: stored copy has it = %v, want %v", fd.Name(), got.Has(fd), !payload)
		}
	}
}

// countingStore counts AppendEvents calls on a real store and holds the
// first call until gate is closed, so that events pile up behind it.
type countingStore struct {
	*store.Bolt
	gate chan struct{}

	mu    sync.Mutex
	calls int
}

func (c *countingStore) AppendEvents(ctx context.Context, events []*arcanosv1.PurgeEvent) error {
	c.mu.Lock()
	c.calls++
	first := c.calls == 1
	c.mu.Unlock()
	if first {
		<-c.gate
	}
	return c.Bolt.AppendEvents(ctx, events)
}

// openEventStore opens a real store in a temp dir.
func openEventStore(tb testing.TB) *store.Bolt {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "arcanos.db")
	st, err := store.OpenBolt(path, store.BoltOptions{Logger: quietLog})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

// createRun stores an empty run runID, so that its events can be stored.
func createRun(tb testing.TB, st *store.Bolt, runID string) {
	tb.Helper()
	run := &arcanosv1.Run{RunId: runID, StartedAt: timestamppb.Now()}
	if err := st.CreateRun(tb.Context(), run); err != nil {
		tb.Fatal(err)
	}
}

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// Events queued on one writer while it waits for a commit are stored
// together, in the order they were added, and flush returns only once they
// all are.
func TestQueuedEventsAreStoredInBatchesInOrder(t *testing.T) {
	const hosts, perHost = 5, eventQueue / 5 // every add fits the queue
	st := openEventStore(t)
	createRun(t, st, "run-1")
	cs := &countingStore{Bolt: st, gate: make(chan struct{})}
	l := newEventLogShards(cs, quietLog, 1)
	t.Cleanup(l.close)

	var added []*arcanosv1.PurgeEvent
	for i := range perHost {
		for h := range hosts {
			e := &arcanosv1.PurgeEvent{RunId: "run-1", Host: fmt.Sprintf("web-%d", h),
				State: arcanosv1.HostRunState_HOST_RUN_STATE_PHASE_DONE, Detail: fmt.Sprintf("event %d", i)}
			added = append(added, e)
			l.add(e)
		}
	}
	close(cs.gate)
	l.flush()

	got, err := cs.Events(t.Context(), "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(added) {
		t.Fatalf("stored %d events after flush, want %d", len(got), len(added))
	}
	for i := range added {
		if !proto.Equal(got[i], added[i]) {
			t.Fatalf("stored event %d is %v, want %v", i, got[i], added[i])
		}
	}
	// The first call holds what the writer took before it blocked; all
	// that was queued behind it goes in the next.
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.calls > 2 {
		t.Errorf("%d events stored with %d AppendEvents calls, want at most 2", len(added), cs.calls)
	}
}

func TestDrainStopsAtABarrierAndAtTheCap(t *testing.T) {
	ev := func(i int) item { return item{event: &arcanosv1.PurgeEvent{Detail: fmt.Sprint(i)}} }
	barrier := make(chan struct{})
	tests := []struct {
		name        string
		queued      []item
		wantEvents  int
		wantBarrier bool
		wantLeft    int
	}{
		{name: "empty queue", wantEvents: 0},
		{name: "all queued", queued: []item{ev(0), ev(1), ev(2)}, wantEvents: 3},
		{
			name:       "barrier",
			queued:     []item{ev(0), ev(1), {done: barrier}, ev(2)},
			wantEvents: 2, wantBarrier: true, wantLeft: 1,
		},
		{
			name:       "cap",
			queued:     slices.Repeat([]item{ev(0)}, eventBatch+10),
			wantEvents: eventBatch, wantLeft: 10,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := make(chan item, len(tt.queued))
			for _, it := range tt.queued {
				ch <- it
			}

			batch, got := drain(ch, nil)

			if len(batch) != tt.wantEvents {
				t.Errorf("drained %d events, want %d", len(batch), tt.wantEvents)
			}
			for i, e := range batch {
				if e != tt.queued[i].event {
					t.Errorf("event %d is %v, want %v", i, e, tt.queued[i].event)
				}
			}
			if (got != nil) != tt.wantBarrier {
				t.Errorf("barrier returned = %v, want %v", got != nil, tt.wantBarrier)
			}
			if len(ch) != tt.wantLeft {
				t.Errorf("%d items left queued, want %d", len(ch), tt.wantLeft)
			}
		})
	}
}

// BenchmarkEventLogShards stores a 10,000-host run's events (QUEUED,
// RUNNING, six PHASE_DONE, FINISHED per host) added by 100 goroutines, the
// agents' streams, through the event log with a given number of writers
// into a real store. One op is every event added and flushed (durable).
func BenchmarkEventLogShards(b *testing.B) {
	const hosts, adders = 10000, 100
	states := []arcanosv1.HostRunState{arcanosv1.HostRunState_HOST_RUN_STATE_QUEUED,
		arcanosv1.HostRunState_HOST_RUN_STATE_RUNNING}
	for range 6 {
		states = append(states, arcanosv1.HostRunState_HOST_RUN_STATE_PHASE_DONE)
	}
	states = append(states, arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED)

	for _, shards := range []int{16, 32, 64, 128, 256, 1024} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			st := openEventStore(b)
			cs := &countingStore{Bolt: st, gate: make(chan struct{})}
			close(cs.gate)
			l := newEventLogShards(cs, quietLog, shards)
			defer l.close()

			i := 0
			for b.Loop() {
				b.StopTimer()
				runID := fmt.Sprintf("bench-%d", i)
				i++
				createRun(b, st, runID)
				b.StartTimer()

				var wg sync.WaitGroup
				for a := range adders {
					wg.Go(func() {
						for _, s := range states {
							for h := a; h < hosts; h += adders {
								l.add(&arcanosv1.PurgeEvent{RunId: runID, Host: fmt.Sprintf("host-%05d", h),
									State: s, Detail: "dry run", At: timestamppb.Now()})
							}
						}
					})
				}
				wg.Wait()
				l.flush()
			}
			b.ReportMetric(float64(cs.calls)/float64(b.N), "appends/op")
		})
	}
}
