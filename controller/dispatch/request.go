package dispatch

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/fleet"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// ErrInvalid marks a request that cannot start a run as asked: a bad
// selector, batch or phase, or a selector that matches no host.
var ErrInvalid = errors.New("invalid run request")

// ErrPrecondition marks a request the controller's state does not allow
// yet, such as a real run before any allowlist was set.
var ErrPrecondition = errors.New("run not possible now")

// phaseNames are the purge sequence's phases. They must stay in step with
// pkg/phases.All (a test checks it); importing that package here would link
// every host source, Docker client included, into the controller.
var phaseNames = []string{"detect", "terminate", "startup", "caches", "services", "health"}

// Request describes a run to start.
type Request struct {
	Selector *arcanosv1.Selector
	DryRun   bool
	// Phases to run; empty means all.
	Phases []string
	// Batch is "N", "N%" or "" (all at once); real runs only.
	Batch string
	// MaxFailures stops a rolling real run once more hosts than this
	// failed or refused.
	MaxFailures int
	// Timeout bounds each host's run; 0 means the controller's default.
	Timeout time.Duration
	// StartedBy is the operator's name or "schedule:NAME".
	StartedBy string
	// Spread spreads host starts over this window (schedules).
	Spread time.Duration
	// Scheduled marks offline hosts MISSED instead of OFFLINE.
	Scheduled bool
}

// plan is a checked request.
type plan struct {
	Request
	selector fleet.Selector
	batch    fleet.Batch
}

func (e *Engine) check(req Request) (plan, error) {
	p := plan{Request: req}
	var err error
	if p.selector, err = fleet.ParseSelector(req.Selector); err != nil {
		return plan{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if p.batch, err = fleet.ParseBatch(req.Batch); err != nil {
		return plan{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if req.MaxFailures < 0 {
		return plan{}, fmt.Errorf("%w: max_failures %d is negative", ErrInvalid, req.MaxFailures)
	}
	if req.Timeout < 0 {
		return plan{}, fmt.Errorf("%w: timeout %s is negative", ErrInvalid, req.Timeout)
	}
	if p.Timeout == 0 {
		p.Timeout = e.opts.DefaultTimeout
	}
	for _, ph := range req.Phases {
		if !slices.Contains(phaseNames, ph) {
			return plan{}, fmt.Errorf("%w: unknown phase %q; phases are %s",
				ErrInvalid, ph, strings.Join(phaseNames, ", "))
		}
	}
	if strings.TrimSpace(req.StartedBy) == "" {
		return plan{}, fmt.Errorf("%w: the run has no author", ErrInvalid)
	}
	return p, nil
}
