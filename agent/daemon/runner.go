package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/arcanos-dev/arcanos/pkg/allowlist"
	"github.com/arcanos-dev/arcanos/pkg/phases"
	"github.com/arcanos-dev/arcanos/pkg/purge"
	"github.com/arcanos-dev/arcanos/pkg/settings"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// RefusedRealPurge is the reason a host whose settings refuse real purges
// gives the controller.
const RefusedRealPurge = "this host's settings refuse real purges (fleet.allow_real: false)"

// recentRuns is how many finished run ids the runner remembers, so that a
// command the controller sends again after a reconnect is not run twice.
const recentRuns = 64

// purgeFunc runs the purge sequence; purge.Run outside tests.
type purgeFunc func(context.Context, purge.Options) (*arcanosv1.RunResult, error)

// runner runs the purges the controller asks for, one at a time, and puts
// every phase result and the final result into the spool as they come.
type runner struct {
	settings settings.Agent
	state    State
	spool    *Spool
	log      *slog.Logger
	purge    purgeFunc
	observer Observer

	mu      sync.Mutex
	current string
	cancel  context.CancelCauseFunc
	recent  []string
	wg      sync.WaitGroup
}

// errCancelled is the cause of a run cancelled by the controller.
type errCancelled struct{ reason string }

func (e errCancelled) Error() string { return "cancelled by the controller: " + e.reason }

// running returns the id of the run in progress, or "".
func (r *runner) running() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.current
}

// start begins cmd in the background under ctx and returns "" or, when the
// command is refused, the reason the operator will read. A command for the
// run in progress or one finished recently is ignored (a redelivery).
func (r *runner) start(ctx context.Context, cmd *arcanosv1.RunCommand) (refusal string) {
	r.mu.Lock()
	defer r.mu.Unlock()

	id := cmd.GetRunId()
	if id == r.current || slices.Contains(r.recent, id) {
		r.log.Info("run command received again; not run twice", "run", id)
		return ""
	}
	if r.current != "" {
		return "a run is already in progress: " + r.current
	}
	names, al, reason := r.check(cmd)
	if reason != "" {
		return reason
	}

	if err := r.state.markRun(runMarker{RunID: id, DryRun: cmd.GetDryRun(), StartedAt: time.Now()}); err != nil {
		// Without the marker a run cut short by a crash would only fail
		// at its deadline; the run itself is unaffected.
		r.log.Warn("record the run in progress", "run", id, "err", err)
	}
	rctx, cancel := context.WithCancelCause(ctx)
	if d := cmd.GetDeadline(); d != nil {
		var stop context.CancelFunc
		rctx, stop = context.WithDeadline(rctx, d.AsTime())
		cancel = stopBoth(cancel, stop)
	}
	r.current, r.cancel = id, cancel
	r.wg.Add(1)
	go r.execute(rctx, cmd, names, al)
	return ""
}

// check returns the phases and allowlist of cmd, or why it cannot run.
func (r *runner) check(cmd *arcanosv1.RunCommand) ([]string, *allowlist.Allowlist, string) {
	if cmd.GetRunId() == "" {
		return nil, nil, "the command names no run id"
	}
	if !cmd.GetDryRun() && !r.settings.Fleet.AllowReal {
		return nil, nil, RefusedRealPurge
	}
	if d := cmd.GetDeadline(); d != nil && !d.AsTime().After(time.Now()) {
		return nil, nil, fmt.Sprintf("the run's deadline (%s) passed before it reached this host",
			d.AsTime().UTC().Format(time.RFC3339))
	}
	names, err := phases.ParseList(strings.Join(cmd.GetPhases(), ","))
	if err != nil {
		return nil, nil, "phases: " + err.Error()
	}
	name := fmt.Sprintf("allowlist v%d", cmd.GetAllowlistVersion())
	al, err := allowlist.Parse(cmd.GetAllowlistJson(), name)
	if err != nil {
		return nil, nil, allowlistRefusal(name, err)
	}
	return names, al, ""
}

// allowlistRefusal lists every problem of an allowlist, one per line.
func allowlistRefusal(name string, err error) string {
	var ve *allowlist.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Sprintf("the %s cannot be used: %v", name, err)
	}
	return fmt.Sprintf("the %s has %d problem(s); nothing was done:\n%s", name, len(ve.Problems), ve.Error())
}

// cancelRun cancels the run in progress when it is the one named.
func (r *runner) cancelRun(c *arcanosv1.CancelRun) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.current == "" || r.current != c.GetRunId() {
		return false
	}
	r.cancel(errCancelled{reason: c.GetReason()})
	return true
}

// execute runs one purge and spools its reports: each phase as it ends
// (seq from 1), then the final result.
func (r *runner) execute(ctx context.Context, cmd *arcanosv1.RunCommand, names []string, al *allowlist.Allowlist) {
	defer r.wg.Done()
	id := cmd.GetRunId()
	log := r.log.With("run", id)
	var seq int32
	opts := purge.Options{
		DryRun:    cmd.GetDryRun(),
		Phases:    names,
		Settings:  r.settings,
		Allowlist: al,
		RunID:     id,
		Logger:    r.log,
		Progress: func(_ string, res *arcanosv1.PhaseResult) {
			if res == nil {
				return
			}
			seq++
			r.put(log, &arcanosv1.ConnectRequest{Msg: &arcanosv1.ConnectRequest_Phase{
				Phase: &arcanosv1.PhaseReport{RunId: id, Seq: seq, Phase: res}}})
		},
	}

	// audit: a real run may change the host (signals, removals, restarts);
	// guard: start() accepted it only with fleet.allow_real, and the phases
	// keep their own guards (terminate.enabled, services.restart, caches.*).
	res, err := r.purge(ctx, opts)
	if err != nil {
		res = failedResult(cmd, r.settings, err)
	}
	switch cause := context.Cause(ctx); {
	case errors.As(cause, new(errCancelled)):
		res.Errors = append(res.Errors, cause.Error())
	case errors.Is(cause, context.DeadlineExceeded) && cmd.GetDeadline() != nil:
		res.Errors = append(res.Errors, "the run's deadline from the controller passed")
	}
	r.observer.RunFinished(res)
	rep := &arcanosv1.RunReport{RunId: id, Result: res}
	if int(seq) == len(res.GetPhases()) {
		// Every phase went out as a phase report (a run cut short lists
		// the phases it skipped without reporting them): the session may
		// send the result without them to a controller that holds them.
		rep.PhasesReported = seq
	}
	r.put(log, &arcanosv1.ConnectRequest{Msg: &arcanosv1.ConnectRequest_Run{Run: rep}})
	if err := r.state.clearRun(); err != nil {
		log.Warn("clear the run marker", "err", err)
	}

	r.mu.Lock()
	r.cancel(nil)
	r.current, r.cancel = "", nil
	r.recent = append(r.recent, id)
	if len(r.recent) > recentRuns {
		r.recent = r.recent[1:]
	}
	r.mu.Unlock()
}

func (r *runner) put(log *slog.Logger, req *arcanosv1.ConnectRequest) {
	if err := r.spool.Put(req); err != nil {
		// LIMITATION: a report the spool cannot write (disk full) is lost;
		// the controller marks the host failed when the run's deadline passes.
		log.Error("keep report for the controller", "err", err)
	}
}

// wait waits up to d for the run in progress to end.
func (r *runner) wait(d time.Duration) bool {
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// failedResult is the result of a run that could not start.
func failedResult(cmd *arcanosv1.RunCommand, st settings.Agent, err error) *arcanosv1.RunResult {
	now := timestamppb.Now()
	return &arcanosv1.RunResult{
		RunId:        cmd.GetRunId(),
		Host:         st.Hostname,
		DryRun:       cmd.GetDryRun(),
		StartedAt:    now,
		FinishedAt:   now,
		AgentVersion: purge.Version,
		Status:       arcanosv1.PhaseStatus_PHASE_STATUS_FAILED,
		Errors:       []string{"the run could not start: " + err.Error()},
		Summary:      &arcanosv1.RunSummary{},
	}
}

func stopBoth(a context.CancelCauseFunc, b context.CancelFunc) context.CancelCauseFunc {
	return func(cause error) { a(cause); b() }
}
