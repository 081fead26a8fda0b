package dispatch

import (
	"context"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// eventShards is how many writers store events at once, so that bbolt's
// batch commits are shared by many of them (with 32, a 500-host dry run took
// three times as long to store); a host's events always go to the same
// writer, so they are stored in the order they happened.
const eventShards = 256

// eventQueue bounds the events waiting in each writer.
const eventQueue = 256

// EventStore is the part of the store the event writer uses.
type EventStore interface {
	AppendEvent(ctx context.Context, e *arcanosv1.PurgeEvent) error
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
	l := &eventLog{store: st, log: log, shards: make([]chan item, eventShards)}
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
	l.shards[h.Sum32()%eventShards] <- item{event: stored}
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

func (l *eventLog) write(ch <-chan item) {
	defer l.wg.Done()
	for it := range ch {
		if it.done != nil {
			close(it.done)
			continue
		}
		e := it.event
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := l.store.AppendEvent(ctx, e); err != nil {
			l.log.Warn("store run event", "run", e.GetRunId(), "host", e.GetHost(),
				"state", e.GetState().String(), "err", err)
		}
		cancel()
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
