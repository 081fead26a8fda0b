package dispatch

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/arcanos-dev/arcanos/pkg/fleet"
	"github.com/arcanos-dev/arcanos/pkg/overlay"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// hostRun is where one host stands in a run.
type hostRun struct {
	id      string
	labels  map[string]string
	state   arcanosv1.HostRunState
	startAt time.Time // not before: the schedule's spread offset

	deadline     time.Time
	lastSeq      int32
	disconnected time.Time
	// phases notes each phase report stored, by seq (1 to maxTrackedSeq).
	// A result sent without its phases is judged from these, not from the
	// phases read back.
	phases map[int32]phaseMark
}

// maxTrackedSeq bounds the phase reports noted per host; a run has six
// phases, and an agent sending more cannot grow the controller's memory.
const maxTrackedSeq = 32

// effective is one cached effective allowlist (per set of overlays).
type effective struct {
	doc []byte
	err error
}

// run is an active run. Its hosts map and plan never change after newRun;
// everything else is guarded by mu.
type run struct {
	e         *Engine
	id        string
	p         plan
	startedAt time.Time
	doc       *overlay.Document
	version   int64
	hosts     map[string]*hostRun
	rolling   bool
	waveSize  int

	mu         sync.Mutex
	pending    []*hostRun // not dispatched yet, in start order
	running    []*hostRun // dispatched, in deadline order; final ones are popped lazily
	waveLeft   int
	inflight   int
	failed     int // failed or refused, for the rollout threshold
	final      int
	stopped    string
	finishedAt time.Time
	dirty      bool
	subs       map[*Watch]struct{}
	eff        map[string]effective
	wake       chan struct{}
}

func newRun(e *Engine, id string, p plan, selected []*arcanosv1.Host,
	doc *overlay.Document, version int64) *run {
	r := &run{
		e: e, id: id, p: p, startedAt: time.Now(), doc: doc, version: version,
		hosts:   make(map[string]*hostRun, len(selected)),
		rolling: !p.DryRun,
		subs:    map[*Watch]struct{}{},
		eff:     map[string]effective{},
		wake:    make(chan struct{}, 1),
	}
	r.waveSize = p.batch.Of(len(selected))

	for _, h := range selected {
		hr := &hostRun{
			id:      h.GetHostId(),
			labels:  h.GetLabels(),
			state:   arcanosv1.HostRunState_HOST_RUN_STATE_QUEUED,
			startAt: r.startedAt.Add(fleet.Offset(h.GetHostId(), p.Spread)),
		}
		r.hosts[hr.id] = hr
		if !h.GetOnline() && !p.Scheduled {
			// Known offline now: reported at once, never dispatched.
			hr.state = arcanosv1.HostRunState_HOST_RUN_STATE_OFFLINE
			continue
		}
		r.pending = append(r.pending, hr)
	}
	slices.SortStableFunc(r.pending, func(a, b *hostRun) int {
		if c := a.startAt.Compare(b.startAt); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return r
}

func isFinal(s arcanosv1.HostRunState) bool {
	switch s {
	case arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED,
		arcanosv1.HostRunState_HOST_RUN_STATE_REFUSED,
		arcanosv1.HostRunState_HOST_RUN_STATE_OFFLINE,
		arcanosv1.HostRunState_HOST_RUN_STATE_FAILED,
		arcanosv1.HostRunState_HOST_RUN_STATE_SKIPPED,
		arcanosv1.HostRunState_HOST_RUN_STATE_MISSED:
		return true
	}
	return false
}

// set moves h to state and emits the event; r.mu is held.
func (r *run) set(h *hostRun, state arcanosv1.HostRunState, detail string,
	res *arcanosv1.RunResult) {
	if isFinal(h.state) {
		return
	}
	wasRunning := h.state == arcanosv1.HostRunState_HOST_RUN_STATE_RUNNING
	h.state = state
	r.dirty = true

	if isFinal(state) {
		r.final++
		if wasRunning {
			r.inflight--
		}
		if state == arcanosv1.HostRunState_HOST_RUN_STATE_FAILED ||
			state == arcanosv1.HostRunState_HOST_RUN_STATE_REFUSED {
			r.failed++
		}
		r.poke()
	}
	r.emit(&arcanosv1.PurgeEvent{RunId: r.id, Host: h.id, State: state, Detail: detail, Result: res})
}

// emit stores e (in the background) and hands it to every watcher; r.mu is
// held, so watchers see a run's events in order.
func (r *run) emit(e *arcanosv1.PurgeEvent) {
	e.At = timestamppb.Now()
	r.e.events.add(e)
	for w := range r.subs {
		if !w.deliver(e) {
			delete(r.subs, w)
		}
	}
}

// poke wakes the driver without waiting.
func (r *run) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *run) subscribe() *Watch {
	w := newWatch(r.id, len(r.hosts), func(w *Watch) {
		r.mu.Lock()
		delete(r.subs, w)
		r.mu.Unlock()
		w.end(nil)
	})
	r.mu.Lock()
	r.subs[w] = struct{}{}
	r.mu.Unlock()
	return w
}

// record returns the run as stored: every host's current state.
func (r *run) record() *arcanosv1.Run {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.recordLocked()
}

func (r *run) recordLocked() *arcanosv1.Run {
	rec := &arcanosv1.Run{
		RunId:            r.id,
		StartedBy:        r.p.StartedBy,
		StartedAt:        timestamppb.New(r.startedAt),
		Selector:         proto.Clone(r.p.Selector).(*arcanosv1.Selector),
		DryRun:           r.p.DryRun,
		Phases:           slices.Clone(r.p.Phases),
		AllowlistVersion: r.version,
		Hosts:            make(map[string]arcanosv1.HostRunState, len(r.hosts)),
		Detail:           r.detailLocked(),
	}
	for id, h := range r.hosts {
		rec.Hosts[id] = h.state
	}
	if !r.finishedAt.IsZero() {
		rec.FinishedAt = timestamppb.New(r.finishedAt)
	}
	return rec
}

// detailLocked summarises the run: host counts by state and why a rollout
// stopped.
func (r *run) detailLocked() string {
	states := make(map[string]arcanosv1.HostRunState, len(r.hosts))
	for id, h := range r.hosts {
		states[id] = h.state
	}
	d := stateCounts(states)
	if r.stopped != "" {
		d += "; " + r.stopped
	}
	return d
}

// stateCounts says how many hosts are in each state: "3 host(s): 2
// finished, 1 failed".
func stateCounts(hosts map[string]arcanosv1.HostRunState) string {
	counts := map[string]int{}
	for _, st := range hosts {
		counts[stateName(st)]++
	}
	parts := make([]string, 0, len(counts))
	for _, name := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%d %s", counts[name], name))
	}
	return fmt.Sprintf("%d host(s): %s", len(hosts), strings.Join(parts, ", "))
}

// stateName is a state's short lowercase name: finished, offline, ...
func stateName(s arcanosv1.HostRunState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "HOST_RUN_STATE_"))
}

// effectiveFor returns the host's effective allowlist, validated; r.mu is
// held. Hosts with the same overlays share one document.
func (r *run) effectiveFor(h *hostRun) ([]byte, error) {
	key := strings.Join(r.doc.Applies(h.labels), ",")
	if c, ok := r.eff[key]; ok {
		return c.doc, c.err
	}
	doc, _, err := r.doc.Effective(h.labels)
	if err == nil {
		err = overlay.CheckEffective(doc, fmt.Sprintf("allowlist v%d with overlays [%s]", r.version, key))
	}
	r.eff[key] = effective{doc: doc, err: err}
	return doc, err
}
