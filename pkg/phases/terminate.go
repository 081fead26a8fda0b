package phases

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/arcanos-dev/arcanos/pkg/procs"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// terminatePhase plans the stop of every unauthorized process, container of
// a disallowed image and PM2 app absent from the ecosystem file, and carries
// the plan out only in a real run on a host whose settings enable it.
type terminatePhase struct{}

func (terminatePhase) Name() string { return Terminate }

func (terminatePhase) Run(ctx context.Context, run *Run, rec *Recorder) {
	run.ensureInventory(ctx, rec)

	if !run.inv.procsOK {
		rec.Errorf("the process list could not be read, so nothing can be planned safely")
		return
	}
	gate := run.terminateGate()
	units := map[string]bool{}

	// Zombies have already exited: the detect phase reports them with their
	// parent, and no action is planned for them.
	for _, j := range run.inv.judged {
		if ctx.Err() != nil {
			return
		}
		if j.verdict != arcanosv1.Verdict_VERDICT_UNAUTHORIZED || j.p.Zombie {
			continue
		}
		switch {
		case j.manager == "":
			run.terminateProcess(ctx, rec, j, gate)
		case strings.HasPrefix(j.manager, "unit:"):
			units[strings.TrimPrefix(j.manager, "unit:")] = true
		}
		// Processes in containers and PM2 apps are stopped through their
		// manager below; a signal would only make the manager restart them.
	}

	unitNames := make([]string, 0, len(units))
	for u := range units {
		unitNames = append(unitNames, u)
	}
	sort.Strings(unitNames)
	for _, u := range unitNames {
		rec.Action(&arcanosv1.Action{Kind: "stop_unit", Target: u,
			State: arcanosv1.ActionState_ACTION_STATE_REFUSED,
			Detail: "managed by systemd: arcanos leaves units to their owner; to stop it: " +
				"systemctl disable --now " + u})
	}

	for _, jc := range run.inv.judgedCtr {
		if jc.verdict != arcanosv1.Verdict_VERDICT_UNAUTHORIZED || jc.c.State != "running" {
			continue
		}
		run.terminateContainer(ctx, rec, jc, gate)
	}
	// A cluster-mode app has one entry per instance; it is stopped once.
	stopped := map[string]bool{}
	for _, ja := range run.inv.judgedApp {
		key := ja.a.Daemon.Home + "\x00" + ja.a.Name
		if ja.verdict != arcanosv1.Verdict_VERDICT_UNAUTHORIZED || ja.a.Status == "stopped" || stopped[key] {
			continue
		}
		stopped[key] = true
		run.terminateApp(ctx, rec, ja, gate)
	}
}

// terminateGate says why actions may not happen, or "" when they may.
func (r *Run) terminateGate() string {
	switch {
	case r.DryRun:
		return ""
	case !r.Settings.Terminate.Enabled:
		return "termination is off in this host's settings (terminate.enabled: false)"
	}
	return ""
}

func procTarget(p procs.Process) string {
	return fmt.Sprintf("pid %d (%s)", p.PID, p.Comm)
}

func (r *Run) terminateProcess(ctx context.Context, rec *Recorder, j judgedProcess, gate string) {
	p := j.p
	a := rec.Action(&arcanosv1.Action{Kind: "signal", Target: procTarget(p),
		Detail: fmt.Sprintf("SIGTERM, then SIGKILL after %s; bound to start time %s",
			r.Settings.Terminate.Grace, strconv.FormatUint(p.StartTicks, 10))})
	if r.DryRun {
		rec.Update(a, arcanosv1.ActionState_ACTION_STATE_PLANNED, "")
		return
	}
	if gate != "" {
		rec.Update(a, arcanosv1.ActionState_ACTION_STATE_REFUSED, gate)
		return
	}
	if err := procs.Guard(p); err != nil {
		rec.Update(a, arcanosv1.ActionState_ACTION_STATE_REFUSED, err.Error())
		return
	}

	var out procs.Outcome
	err := bounded(ctx, r.Settings.Terminate.Grace+r.source(), func(ctx context.Context) error {
		var err error
		// audit: signals one unauthorized process named by this run's plan;
		// guarded by dry-run, terminate.enabled, procs.Guard and the
		// pid+start-time identity check inside procs.Terminate.
		out, err = procs.Terminate(ctx, p, r.Settings.Terminate.Grace)
		return err
	})
	switch {
	case errors.Is(err, procs.ErrGone):
		rec.Update(a, arcanosv1.ActionState_ACTION_STATE_DONE, "already exited before the signal")
	case errors.Is(err, procs.ErrRefused), errors.Is(err, procs.ErrIdentityChanged):
		rec.Update(a, arcanosv1.ActionState_ACTION_STATE_REFUSED, err.Error())
	default:
		r.finish(rec, a, err, strings.Join(out.Signals, ", ")+" sent; "+out.Detail)
	}
}

func (r *Run) terminateContainer(ctx context.Context, rec *Recorder, jc judgedContainer, gate string) {
	a := rec.Action(&arcanosv1.Action{Kind: "stop_container", Target: jc.c.Name,
		Detail: fmt.Sprintf("docker stop %s (image %s), grace %s", jc.c.Name, jc.c.Image,
			r.Settings.Terminate.Grace)})
	if r.DryRun {
		rec.Update(a, arcanosv1.ActionState_ACTION_STATE_PLANNED, "")
		return
	}
	if gate != "" {
		rec.Update(a, arcanosv1.ActionState_ACTION_STATE_REFUSED, gate)
		return
	}
	err := bounded(ctx, r.Settings.Terminate.Grace+r.source(), func(ctx context.Context) error {
		// audit: stops one container of a disallowed image named by this
		// run's plan; guarded by dry-run and terminate.enabled.
		return r.inv.docker.Stop(ctx, jc.c.ID, r.Settings.Terminate.Grace)
	})
	r.finish(rec, a, err, "stopped")
}

func (r *Run) terminateApp(ctx context.Context, rec *Recorder, ja judgedApp, gate string) {
	a := rec.Action(&arcanosv1.Action{Kind: "stop_pm2_app", Target: ja.a.Name,
		Detail: "pm2 stop " + ja.a.Name + " (PM2_HOME " + ja.a.Daemon.Home + ")"})
	if r.DryRun {
		rec.Update(a, arcanosv1.ActionState_ACTION_STATE_PLANNED, "")
		return
	}
	if gate != "" {
		rec.Update(a, arcanosv1.ActionState_ACTION_STATE_REFUSED, gate)
		return
	}
	err := bounded(ctx, r.source(), func(ctx context.Context) error {
		// audit: stops one PM2 app absent from the ecosystem file, named by
		// this run's plan; guarded by dry-run and terminate.enabled.
		return r.pm2Runner().Stop(ctx, ja.a.Daemon, ja.a.Name)
	})
	r.finish(rec, a, err, "stopped")
}

// finish sets an action's final state from the error of carrying it out.
func (r *Run) finish(rec *Recorder, a *arcanosv1.Action, err error, done string) {
	if err != nil {
		rec.Update(a, arcanosv1.ActionState_ACTION_STATE_FAILED, err.Error())
		return
	}
	rec.Update(a, arcanosv1.ActionState_ACTION_STATE_DONE, done)
}
