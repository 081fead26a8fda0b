package dispatch

import (
	"errors"
	"sync"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// watchQueue bounds the events waiting for one watcher (an operator's
// StartPurge stream) beyond the start of its run: a run emits two events
// per host (QUEUED, then RUNNING as its command goes out) in one burst as
// it starts, so a watch also holds two per host of its run. Without that a
// fleet-wide run of ~4,000 hosts or more cut off every operator watching it
// (fleet simulator, 5,000 agents).
const watchQueue = 8192

// ErrWatchBehind says a watcher read its events too slowly and was cut off;
// the run goes on and its events stay in the store.
var ErrWatchBehind = errors.New("event stream fell behind and was cut off; " +
	"the run goes on: follow it with arcanosctl runs show")

// Watch receives the events of one run as they happen. Events is closed when
// the run is complete or the watch ended; Err then says why it ended early.
type Watch struct {
	runID string
	ch    chan *arcanosv1.PurgeEvent

	mu     sync.Mutex
	err    error
	closed bool
	cancel func(*Watch)
}

// newWatch returns a watch of a run over hosts hosts.
func newWatch(runID string, hosts int, cancel func(*Watch)) *Watch {
	return &Watch{runID: runID, ch: make(chan *arcanosv1.PurgeEvent, watchQueue+2*hosts), cancel: cancel}
}

// RunID names the watched run.
func (w *Watch) RunID() string { return w.runID }

// Events delivers the run's events in order.
func (w *Watch) Events() <-chan *arcanosv1.PurgeEvent { return w.ch }

// Err is nil when the run completed, or why the watch ended early.
func (w *Watch) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Close stops the watch; the run is not affected.
func (w *Watch) Close() {
	if w.cancel != nil {
		w.cancel(w)
	}
}

// deliver hands e to the watcher without waiting; a full queue ends the
// watch. It reports whether the watch is still open.
func (w *Watch) deliver(e *arcanosv1.PurgeEvent) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	select {
	case w.ch <- e:
		return true
	default:
		w.err = ErrWatchBehind
		w.closed = true
		close(w.ch)
		return false
	}
}

// end closes the watch with err (nil: the run completed).
func (w *Watch) end(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.err = err
	w.closed = true
	close(w.ch)
}
