package fleetsim

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// Options configures a Fleet.
type Options struct {
	// Addr is the controller's host:port.
	Addr string
	// RootCAs verifies the controller's server certificate.
	RootCAs *x509.CertPool
	// Hosts names the simulated hosts, one agent each (see Hostnames).
	Hosts []string
	// Labels returns a host's labels (none when nil).
	Labels func(host string) map[string]string
	// Answer is what every agent reports for a run.
	Answer *Answer
	// Issuer gives each agent its certificate.
	Issuer Issuer
	// Concurrency bounds the identities issued and the agents connecting at
	// once (32 when zero).
	Concurrency int
	// WelcomeTimeout bounds each agent's wait for its welcome (30s when zero).
	WelcomeTimeout time.Duration
	// WholeReports sends every run report with its phases, as agents did
	// before Welcome.phases_by_reference; otherwise agents leave them out
	// when the controller accepts that.
	WholeReports bool
	// Log receives the simulator's own logs (slog.Default() when nil).
	Log *slog.Logger
}

// Hostnames returns n host names: prefix-00001, prefix-00002, ...
func Hostnames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%05d", prefix, i+1)
	}
	return out
}

// RunTally is what the agents saw of one run.
type RunTally struct {
	// Commands counts the RunCommands received, Refused those refused.
	Commands, Refused int
	// PhaseAcks and FinalAcks count the acknowledgements received: a final
	// ack means the host's whole result is durably stored.
	PhaseAcks, FinalAcks int
	// LastCommand is when the last RunCommand arrived, LastReport when the
	// last RunReport was sent and LastFinalAck when the last final ack
	// arrived.
	LastCommand, LastReport, LastFinalAck time.Time
}

type waiter struct {
	runID string
	n     int
	done  chan struct{}
}

// Fleet is a set of simulated agents in this process. It is safe for
// concurrent use.
type Fleet struct {
	opts   Options
	log    *slog.Logger
	agents []*agent
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	runs     map[string]*RunTally
	waiters  []*waiter
	drops    int
	lastDrop error
}

// New returns a fleet of one agent per host in opts.Hosts, not connected yet.
func New(opts Options) *Fleet {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 32
	}
	if opts.WelcomeTimeout <= 0 {
		opts.WelcomeTimeout = 30 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Fleet{opts: opts, log: opts.Log, ctx: ctx, cancel: cancel, runs: map[string]*RunTally{}}
	for _, h := range opts.Hosts {
		f.agents = append(f.agents, &agent{f: f, host: h})
	}
	return f
}

// Identify gives every agent its key and certificate through the Issuer.
func (f *Fleet) Identify(ctx context.Context) error {
	return parallel(ctx, len(f.agents), f.opts.Concurrency, func(ctx context.Context, i int) error {
		a := f.agents[i]
		cert, err := f.opts.Issuer.Issue(ctx, a.host)
		if err != nil {
			return fmt.Errorf("identity of %s: %w", a.host, err)
		}
		a.cert = cert
		return nil
	})
}

// Connect opens every agent's connection and stream and returns once the
// controller welcomed each of them. The streams live until Close.
func (f *Fleet) Connect(ctx context.Context) error {
	return parallel(ctx, len(f.agents), f.opts.Concurrency, func(ctx context.Context, i int) error {
		// The stream lives on the fleet's context; ctx only bounds the wait.
		return f.agents[i].connect(f.ctx, ctx, f.opts.WelcomeTimeout)
	})
}

// Tally returns what the agents saw of runID so far.
func (f *Fleet) Tally(runID string) RunTally {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t := f.runs[runID]; t != nil {
		return *t
	}
	return RunTally{}
}

// WaitFinal returns once n agents received the final ack of runID.
func (f *Fleet) WaitFinal(ctx context.Context, runID string, n int) error {
	w := &waiter{runID: runID, n: n, done: make(chan struct{})}
	f.mu.Lock()
	if t := f.runs[runID]; t != nil && t.FinalAcks >= n {
		f.mu.Unlock()
		return nil
	}
	f.waiters = append(f.waiters, w)
	f.mu.Unlock()

	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		t := f.Tally(runID)
		return fmt.Errorf("run %s: %d of %d final acks: %w", runID, t.FinalAcks, n, ctx.Err())
	}
}

// Dropped returns how many agent streams ended before Close, and the last
// reason.
func (f *Fleet) Dropped() (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.drops, f.lastDrop
}

// Close ends every agent's stream and connection.
func (f *Fleet) Close() {
	f.cancel()
	for _, a := range f.agents {
		a.close()
	}
}

func (f *Fleet) labelsOf(host string) map[string]string {
	if f.opts.Labels == nil {
		return nil
	}
	return f.opts.Labels(host)
}

// tally returns runID's tally; f.mu is held.
func (f *Fleet) tally(runID string) *RunTally {
	t := f.runs[runID]
	if t == nil {
		t = &RunTally{}
		f.runs[runID] = t
	}
	return t
}

func (f *Fleet) commanded(runID string) {
	f.mu.Lock()
	t := f.tally(runID)
	t.Commands++
	t.LastCommand = time.Now()
	f.mu.Unlock()
}

func (f *Fleet) reported(runID string) {
	f.mu.Lock()
	f.tally(runID).LastReport = time.Now()
	f.mu.Unlock()
}

func (f *Fleet) refused(runID string) {
	f.mu.Lock()
	f.tally(runID).Refused++
	f.mu.Unlock()
}

func (f *Fleet) acked(ack *arcanosv1.Ack) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.tally(ack.GetRunId())
	if !ack.GetFinal() {
		t.PhaseAcks++
		return
	}
	t.FinalAcks++
	t.LastFinalAck = time.Now()
	kept := f.waiters[:0]
	for _, w := range f.waiters {
		if w.runID == ack.GetRunId() && t.FinalAcks >= w.n {
			close(w.done)
			continue
		}
		kept = append(kept, w)
	}
	f.waiters = kept
}

func (f *Fleet) dropped(host string, err error) {
	f.mu.Lock()
	f.drops++
	f.lastDrop = fmt.Errorf("agent %s: stream ended: %w", host, err)
	f.mu.Unlock()
	f.log.Warn("simulated agent's stream ended", "host", host, "err", err)
}

// parallel calls fn(i) for i in [0, n) on at most workers goroutines and
// returns the first error; after it, the remaining calls are skipped.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}
