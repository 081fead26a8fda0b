package phases

import (
	"context"
	"log/slog"
	"os"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/arcanos-dev/arcanos/pkg/allowlist"
	"github.com/arcanos-dev/arcanos/pkg/docker"
	"github.com/arcanos-dev/arcanos/pkg/pm2"
	"github.com/arcanos-dev/arcanos/pkg/procs"
	"github.com/arcanos-dev/arcanos/pkg/settings"
	"github.com/arcanos-dev/arcanos/pkg/startup"
	"github.com/arcanos-dev/arcanos/pkg/systemd"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// Run is one execution of the sequence on this host: its inputs and the
// inventory the phases share. Phases run one after another, so only the
// phase running at the time reads or writes it.
type Run struct {
	Settings  settings.Agent
	Allowlist *allowlist.Allowlist
	DryRun    bool
	Log       *slog.Logger

	// Root is the filesystem root that file audits read under.
	Root *os.Root
	// Users are the accounts of the audited root.
	Users []startup.User

	// Progress, when set, is called before each phase with a nil result and
	// after it with the phase's result, so a caller can show progress or
	// stream results phase by phase.
	Progress func(phase string, res *arcanosv1.PhaseResult)

	// selfPID and ancestors are never acted on.
	selfPID   int32
	ancestors map[int32]bool

	inv inventory
}

// inventory is what detect collects and later phases use. Each part says
// whether it was read; a part that was not is never taken as "nothing there".
type inventory struct {
	collected bool

	procs   []procs.Process
	procsOK bool

	docker       *docker.Client
	containers   []docker.Container
	containersOK bool

	pm2Daemons []pm2.Daemon
	pm2Apps    []pm2.App
	pm2OK      bool

	systemd   *systemd.Client
	units     []systemd.Unit
	unitsOK   bool
	judged    []judgedProcess
	judgedApp []judgedApp
	judgedCtr []judgedContainer
}

// Execute runs the named phases in order, each with its own timeout, inside
// the run's whole timeout, and returns one result per phase. A phase that
// times out keeps what it recorded so far and says so; the phases after it
// still run while the whole-run deadline allows.
func (r *Run) Execute(ctx context.Context, names []string) []*arcanosv1.PhaseResult {
	r.selfPID = int32(os.Getpid())
	r.ancestors = map[int32]bool{}
	defer r.close()

	var results []*arcanosv1.PhaseResult
	for _, name := range names {
		p := byName(name)
		if p == nil {
			continue
		}
		if ctx.Err() != nil {
			results = append(results, &arcanosv1.PhaseResult{
				Name:   name,
				Status: arcanosv1.PhaseStatus_PHASE_STATUS_SKIPPED,
				Errors: []string{"skipped: the run's time ran out before this phase"},
			})
			continue
		}
		if r.Progress != nil {
			r.Progress(name, nil)
		}
		res := r.runPhase(ctx, p)
		results = append(results, res)
		if r.Progress != nil {
			r.Progress(name, res)
		}
	}
	return results
}

func (r *Run) runPhase(ctx context.Context, p Phase) *arcanosv1.PhaseResult {
	pctx, cancel := context.WithTimeout(ctx, r.Settings.Timeouts.Phase)
	defer cancel()

	rec := newRecorder(p.Name())
	start := time.Now()
	r.Log.Debug("phase started", "phase", p.Name())

	// Phases return promptly once pctx is done (every blocking call goes
	// through Recorder.Source), so waiting here cannot hang the run.
	func() {
		defer func() {
			if v := recover(); v != nil {
				rec.Errorf("phase %s stopped by an internal error: %v", p.Name(), v)
			}
		}()
		p.Run(pctx, r, rec)
	}()

	res := rec.seal()
	res.Duration = durationpb.New(time.Since(start))
	res.Status = phaseStatus(pctx, res)
	if res.Status == arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT {
		res.Errors = append(res.Errors, "phase timed out; the result is partial")
	}
	r.Log.Info("phase finished", "phase", p.Name(), "status", res.Status.String(),
		"findings", len(res.Findings), "actions", len(res.Actions),
		"duration", time.Since(start).Round(time.Millisecond))
	return res
}

// phaseStatus derives a phase's status from its deadline and its sources:
// timed out if the deadline passed, unavailable if every source was, failed
// if it recorded errors or a source failed, ok otherwise.
func phaseStatus(ctx context.Context, res *arcanosv1.PhaseResult) arcanosv1.PhaseStatus {
	if ctx.Err() != nil {
		return arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT
	}
	unavailable, failed := 0, 0
	for _, s := range res.Sources {
		switch s.Status {
		case arcanosv1.PhaseStatus_PHASE_STATUS_UNAVAILABLE:
			unavailable++
		case arcanosv1.PhaseStatus_PHASE_STATUS_FAILED, arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT:
			failed++
		}
	}
	switch {
	case len(res.Sources) > 0 && unavailable == len(res.Sources):
		return arcanosv1.PhaseStatus_PHASE_STATUS_UNAVAILABLE
	case len(res.Errors) > 0:
		return arcanosv1.PhaseStatus_PHASE_STATUS_FAILED
	}
	// A failed source is reported on its own line; the phase itself is ok
	// when the rest of it ran, so one broken source never fails the run.
	return arcanosv1.PhaseStatus_PHASE_STATUS_OK
}

func (r *Run) close() {
	if r.inv.docker != nil {
		_ = r.inv.docker.Close()
	}
	if r.inv.systemd != nil {
		r.inv.systemd.Close()
	}
}

func (r *Run) source() time.Duration { return r.Settings.Timeouts.Source }
