package phases

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/arcanos-dev/arcanos/pkg/source"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// Recorder collects one phase's findings, actions, errors and source results.
// It is safe for concurrent use. Once sealed (the phase timed out), further
// writes are dropped, so a source still running after its deadline cannot
// change a result that was already reported.
type Recorder struct {
	mu     sync.Mutex
	sealed bool
	res    *arcanosv1.PhaseResult
}

func newRecorder(name string) *Recorder {
	return &Recorder{res: &arcanosv1.PhaseResult{Name: name}}
}

// Finding records a finding.
func (r *Recorder) Finding(f *arcanosv1.Finding) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.sealed {
		r.res.Findings = append(r.res.Findings, f)
	}
}

// Action records an action and returns it so the caller can fill in its
// final state later through Update.
func (r *Recorder) Action(a *arcanosv1.Action) *arcanosv1.Action {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.sealed {
		r.res.Actions = append(r.res.Actions, a)
	}
	return a
}

// Update changes an action already recorded, under the recorder's lock.
func (r *Recorder) Update(a *arcanosv1.Action, state arcanosv1.ActionState, detail string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sealed {
		return
	}
	a.State = state
	if detail != "" {
		a.Detail = detail
	}
}

// Errorf records a phase error.
func (r *Recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.sealed {
		r.res.Errors = append(r.res.Errors, fmt.Sprintf(format, args...))
	}
}

func (r *Recorder) addSource(s *arcanosv1.SourceResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.sealed {
		r.res.Sources = append(r.res.Sources, s)
	}
}

// seal stops further writes and returns a snapshot of the result.
func (r *Recorder) seal() *arcanosv1.PhaseResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sealed = true
	return r.res
}

// Source runs one source with its own timeout and records how it fared: ok,
// unavailable with the reason, timed out or failed, with its duration. fn
// returns how many items it found. A source that ignores its context is
// abandoned at the deadline; Source itself never blocks past ctx. The
// returned error is nil only when fn succeeded in time.
func (r *Recorder) Source(ctx context.Context, name string, timeout time.Duration,
	fn func(ctx context.Context) (int, error)) error {
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	type outcome struct {
		n   int
		err error
	}
	done := make(chan outcome, 1)
	start := time.Now()
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- outcome{err: fmt.Errorf("source %s panicked: %v", name, p)}
			}
		}()
		n, err := fn(sctx)
		done <- outcome{n, err}
	}()

	var o outcome
	select {
	case o = <-done:
	case <-sctx.Done():
		o = outcome{err: sctx.Err()}
	}

	res := &arcanosv1.SourceResult{
		Name:     name,
		Duration: durationpb.New(time.Since(start)),
		Items:    int32(o.n),
		Status:   arcanosv1.PhaseStatus_PHASE_STATUS_OK,
	}
	if reason, ok := source.IsUnavailable(o.err); ok {
		res.Status = arcanosv1.PhaseStatus_PHASE_STATUS_UNAVAILABLE
		res.Reason = reason
	} else if errors.Is(o.err, context.DeadlineExceeded) || (o.err != nil && sctx.Err() != nil) {
		res.Status = arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT
		res.Reason = fmt.Sprintf("no answer within %s", timeout)
		if ctx.Err() != nil {
			res.Reason = "the phase ran out of time"
		}
	} else if o.err != nil {
		res.Status = arcanosv1.PhaseStatus_PHASE_STATUS_FAILED
		res.Reason = o.err.Error()
	}
	r.addSource(res)

	if res.Status != arcanosv1.PhaseStatus_PHASE_STATUS_OK {
		if o.err == nil {
			o.err = errors.New(res.Reason)
		}
		return o.err
	}
	return nil
}

// bounded runs fn with a timeout and returns its error, or the context's when
// fn does not return in time. It is for actions, which are recorded as
// actions rather than as sources.
func bounded(ctx context.Context, timeout time.Duration, fn func(ctx context.Context) error) error {
	bctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("internal error: %v", p)
			}
		}()
		done <- fn(bctx)
	}()
	select {
	case err := <-done:
		return err
	case <-bctx.Done():
		return fmt.Errorf("no answer within %s: %w", timeout, bctx.Err())
	}
}
