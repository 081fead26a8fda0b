package dispatch

import (
	"context"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// eventShards is how many writers store events at once. A host's events
// always go to the same writer, so they are stored in the order they
// happened. Each writer stores whatever is queued on it with one
// AppendEvents, and writers share bbolt's batch commits. Measured with
// BenchmarkEventLogShards (10,000 hosts, 90,000 events, 2 cores): 64 to
// 256 writers store them in ~0.4 s, 16 and 1,024 in ~0.5 s; writing one
// event at a time it took 7 s with 256 and 35 s with 32. 256 also queues
// 64 Ki events in all, so add, called under a run's lock, rarely waits.
const eventShards = 256

// eventQueue bounds the events waiting in each writer.
const eventQueue = 256

// eventBatch caps the events one writer stores with one AppendEvents, so
// a commit stays short.
const eventBatch = 512

// EventStore is the part of the store the event writer uses.
type EventStore interface {
	// AppendEvents stores events in slice order, durable on return; an
	// event of an unknown run does not stop the others.
	AppendEvents(ctx context.Context, events []*arcanosv1.PurgeEvent) error
}

// item is an event to store, or (done set) a barrier that flush waits for.
type item struct {
	event *arcanosv1.PurgeEvent
	done  chan struct{}
}

// eventLog stores events off the run's lock. Stored copies carry no phase
// or run result: those are stored once, by PutPhase and PutResult.
type eventLog struct {
	store  EventStore
	log    *slog.Logger
	shards []chan item
	wg     sync.WaitGroup

	mu     sync.RWMutex
	closed bool
}

func newEventLog(st EventStore, log *slog.Logger) *eventLog {
	return newEventLogShards(st, log, eventShards)
}

// newEventLogShards is newEventLog with n writers.
func newEventLogShards(st EventStore, log *slog.Logger, n int) *eventLog {
	l := &eventLog{store: st, log: log, shards: make([]chan item, n)}
	for i := range l.shards {
		l.shards[i] = make(chan item, eventQueue)
		l.wg.Add(1)
		go l.write(l.shards[i])
	}
	return l
}

// add queues e for storage; it waits only when its writer is eventQueue
// events behind. After close, events are logged and dropped.
func (l *eventLog) add(e *arcanosv1.PurgeEvent) {
	stored := withoutPayload(e)
	h := fnv.New32a()
	_, _ = h.Write([]byte(e.GetHost()))

	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.log.Warn("run event after shutdown not stored", "run", e.GetRunId(), "host", e.GetHost(),
			"state", e.GetState().String(), "detail", e.GetDetail())
		return
	}
	l.shards[h.Sum32()%uint32(len(l.shards))] <- item{event: stored}
}

// flush returns once every event added before it is stored.
func (l *eventLog) flush() {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return
	}
	barriers := make([]chan struct{}, len(l.shards))
	for i, ch := range l.shards {
		barriers[i] = make(chan struct{})
		ch <- item{done: barriers[i]}
	}
	for _, b := range barriers {
		<-b
	}
}

// withoutPayload returns a shallow copy of e without its phase and result,
// which are stored once, by PutPhase and PutResult. A deep copy (proto.Clone)
// cost a 1,000-host dry run ~1.4 s of CPU copying ~130 MB of phases and
// results only to drop them. The copy shares e's other message fields
// (the timestamp): both are only read from then on.
func withoutPayload(e *arcanosv1.PurgeEvent) *arcanosv1.PurgeEvent {
	out := &arcanosv1.PurgeEvent{}
	dst := out.ProtoReflect()
	e.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if n := fd.Number(); n != eventPhaseField && n != eventResultField {
			dst.Set(fd, v)
		}
		return true
	})
	return out
}

// Field numbers of PurgeEvent's payload.
const (
	eventPhaseField  = 4
	eventResultField = 5
)

// write stores the events of one shard. After each wait it takes what else
// is queued, up to eventBatch events or a barrier, stores it with one
// AppendEvents and only then releases the barrier: flush returns once the
// events added before it are stored.
func (l *eventLog) write(ch <-chan item) {
	defer l.wg.Done()
	batch := make([]*arcanosv1.PurgeEvent, 0, eventBatch)
	for it := range ch {
		barrier := it.done
		if barrier == nil {
			batch = append(batch, it.event)
			batch, barrier = drain(ch, batch)
		}

		l.save(batch)
		clear(batch)
		batch = batch[:0]
		if barrier != nil {
			close(barrier)
		}
	}
}

// drain appends the events queued on ch to batch without waiting, up to
// eventBatch of them, and stops at a barrier, which it returns.
func drain(ch <-chan item, batch []*arcanosv1.PurgeEvent) ([]*arcanosv1.PurgeEvent, chan struct{}) {
	for len(batch) < eventBatch {
		select {
		case it, ok := <-ch:
			if !ok {
				return batch, nil
			}
			if it.done != nil {
				return batch, it.done
			}
			batch = append(batch, it.event)
		default:
			return batch, nil
		}
	}
	return batch, nil
}

// save appends batch to the store, logging a failure once for the batch.
func (l *eventLog) save(batch []*arcanosv1.PurgeEvent) {
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.store.AppendEvents(ctx, batch); err != nil {
		runs := make([]string, 0, 1)
		for _, e := range batch {
			if !slices.Contains(runs, e.GetRunId()) {
				runs = append(runs, e.GetRunId())
			}
		}
		l.log.Warn("store run events", "runs", runs, "events", len(batch), "err", err)
	}
}

// close stores what is queued and stops the writers.
func (l *eventLog) close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		for _, ch := range l.shards {
			close(ch)
		}
	}
	l.mu.Unlock()
	l.wg.Wait()
}
