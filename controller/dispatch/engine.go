// Package dispatch runs purges over the fleet: it selects the hosts of a run,
// sends each online host its command with its effective allowlist, rolls real
// runs out in waves that stop at a failure threshold, follows every host to a
// final state (deadlines included), stores reports before they are
// acknowledged, and fans each run's events out to the operators watching it.
package dispatch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/arcanos-dev/arcanos/pkg/fleet"
	"github.com/arcanos-dev/arcanos/pkg/overlay"
	"github.com/arcanos-dev/arcanos/pkg/store"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// Store is the part of the store the engine uses.
type Store interface {
	EventStore
	CreateRun(ctx context.Context, r *arcanosv1.Run) error
	UpdateRun(ctx context.Context, r *arcanosv1.Run) error
	GetRun(ctx context.Context, runID string) (*arcanosv1.Run, error)
	ListRuns(ctx context.Context, limit int) ([]*arcanosv1.Run, error)
	PutPhase(ctx context.Context, runID, host string, seq int32, p *arcanosv1.PhaseResult) error
	PutResult(ctx context.Context, runID, host string, r *arcanosv1.RunResult) error
	AddResult(ctx context.Context, runID, host string, r *arcanosv1.RunResult) (bool, error)
	Results(ctx context.Context, runID string) ([]*arcanosv1.RunResult, error)
	Phases(ctx context.Context, runID, host string) ([]*arcanosv1.PhaseResult, error)
	PhaseSeqs(ctx context.Context, runID, host string) ([]int32, error)
	Events(ctx context.Context, runID string) ([]*arcanosv1.PurgeEvent, error)
	CurrentAllowlist(ctx context.Context) (*arcanosv1.AllowlistVersion, error)
}

// Hosts is the part of the host registry the engine uses.
type Hosts interface {
	// Hosts returns every enrolled host with its current online state.
	Hosts() []*arcanosv1.Host
	// Send queues a message for a host's agent without waiting.
	Send(hostID string, msg *arcanosv1.ConnectResponse) error
}

// Options configures an Engine.
type Options struct {
	Store Store
	Hosts Hosts
	Log   *slog.Logger
	// DefaultTimeout bounds a host's run when the request gives none.
	DefaultTimeout time.Duration
	// Grace is how long after a host's deadline its result may still
	// arrive before the host is failed.
	Grace time.Duration
	// Checkpoint is how often a running run's host states are stored
	// (2s when zero).
	Checkpoint time.Duration
}

// Engine starts runs and follows them to completion. It is safe for
// concurrent use.
type Engine struct {
	opts   Options
	log    *slog.Logger
	events *eventLog

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.RWMutex
	active map[string]*run

	// restartFailed holds "run\x00host" for hosts that Recover failed only
	// because the controller restarted; their re-sent result replaces that
	// state. Guarded by mu.
	restartFailed map[string]bool
}

// New returns an engine; call Recover before serving agents and Close at
// the end.
func New(opts Options) *Engine {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Checkpoint <= 0 {
		opts.Checkpoint = 2 * time.Second
	}
	if opts.DefaultTimeout <= 0 {
		opts.DefaultTimeout = 10 * time.Minute
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Engine{
		opts:   opts,
		log:    opts.Log,
		events: newEventLog(opts.Store, opts.Log),
		ctx:    ctx,
		cancel: cancel,
		active: map[string]*run{},
	}
}

// Start creates a run from req, stores it and starts dispatching. When
// watch is true the returned Watch receives every event of the run from
// its first. Errors wrap ErrInvalid or ErrPrecondition when the request is
// at fault.
func (e *Engine) Start(ctx context.Context, req Request, watch bool) (*arcanosv1.Run, *Watch, error) {
	p, err := e.check(req)
	if err != nil {
		return nil, nil, err
	}
	selected, err := fleet.SelectHosts(p.selector, e.opts.Hosts.Hosts())
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}

	doc, version, err := e.allowlist(ctx, p.DryRun)
	if err != nil {
		return nil, nil, err
	}

	id, err := newRunID()
	if err != nil {
		return nil, nil, err
	}
	r := newRun(e, id, p, selected, doc, version)

	if err := e.opts.Store.CreateRun(ctx, r.record()); err != nil {
		return nil, nil, fmt.Errorf("create run %s: %w", id, err)
	}

	var w *Watch
	e.mu.Lock()
	if e.ctx.Err() != nil {
		e.mu.Unlock()
		return nil, nil, errors.New("controller shutting down")
	}
	e.active[id] = r
	if watch {
		w = r.subscribe()
	}
	e.wg.Add(1)
	e.mu.Unlock()

	e.log.Info("run started", "run", id, "by", p.StartedBy, "selector", p.selector.String(),
		"hosts", len(selected), "dry_run", p.DryRun, "allowlist_version", version)
	go func() {
		defer e.wg.Done()
		r.drive(e.ctx)
	}()
	return r.record(), w, nil
}

// allowlist returns the central allowlist document and its version. A dry
// run may go without one (everything is then judged unauthorized); a real
// run may not.
func (e *Engine) allowlist(ctx context.Context, dryRun bool) (*overlay.Document, int64, error) {
	cur, err := e.opts.Store.CurrentAllowlist(ctx)
	if errors.Is(err, store.ErrNotFound) {
		if !dryRun {
			return nil, 0, fmt.Errorf("%w: no central allowlist is set, and a real run judged "+
				"against an empty one would act on everything; set one with arcanosctl allowlist set FILE",
				ErrPrecondition)
		}
		d, _ := overlay.Parse([]byte("{}"))
		return d, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read current allowlist: %w", err)
	}
	d, err := overlay.Parse(cur.GetDocument())
	if err != nil {
		return nil, 0, fmt.Errorf("%w: central allowlist version %d: %w", ErrPrecondition, cur.GetVersion(), err)
	}
	return d, cur.GetVersion(), nil
}

// Snapshot returns the live record of an active run, or nil.
func (e *Engine) Snapshot(runID string) *arcanosv1.Run {
	e.mu.RLock()
	r := e.active[runID]
	e.mu.RUnlock()
	if r == nil {
		return nil
	}
	return r.record()
}

func (e *Engine) lookup(runID string) *run {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.active[runID]
}

func (e *Engine) remove(runID string) {
	e.mu.Lock()
	delete(e.active, runID)
	e.mu.Unlock()
}

// Close stops following runs, storing where each stands (the next start
// marks them interrupted), ends every watch and flushes the event log.
func (e *Engine) Close() {
	e.mu.Lock()
	e.cancel()
	e.mu.Unlock()
	e.wg.Wait()
	e.events.close()
}

// newRunID returns a run id that sorts by start time and cannot collide.
func newRunID() (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new run id: %w", err)
	}
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:]), nil
}

func now() *timestamppb.Timestamp { return timestamppb.Now() }
