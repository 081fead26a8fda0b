package phases

import (
	"context"
	"fmt"

	"github.com/arcanos-dev/arcanos/pkg/docker"
	"github.com/arcanos-dev/arcanos/pkg/pidfiles"
	"github.com/arcanos-dev/arcanos/pkg/pm2"
	"github.com/arcanos-dev/arcanos/pkg/procs"
	"github.com/arcanos-dev/arcanos/pkg/source"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// cachesPhase cleans, conservatively, what daemons leave behind: PM2 log
// files, Docker leftovers and stale pid/lock files. A dry run lists what it
// would clean and the bytes that would be reclaimed; only a real run acts.
type cachesPhase struct{}

func (cachesPhase) Name() string { return Caches }

func (cachesPhase) Run(ctx context.Context, run *Run, rec *Recorder) {
	run.ensureInventory(ctx, rec)
	if run.Settings.Caches.PM2Logs {
		run.cleanPM2Logs(ctx, rec)
	}
	if run.Settings.Caches.Docker {
		run.cleanDocker(ctx, rec)
	}
	if run.Settings.Caches.PidFiles {
		run.cleanPidFiles(ctx, rec)
	}
}

func (r *Run) cleanPM2Logs(ctx context.Context, rec *Recorder) {
	var plan []pm2.LogFile
	err := rec.Source(ctx, "pm2_logs", r.source(), func(context.Context) (int, error) {
		if !r.inv.pm2OK {
			return 0, source.Unavailable("no PM2 apps were read")
		}
		plan = pm2.FlushPlan(r.inv.pm2Apps)
		return len(plan), nil
	})
	if err != nil {
		return
	}

	actions := make(map[string]*arcanosv1.Action, len(plan))
	for _, f := range plan {
		actions[f.Path] = rec.Action(&arcanosv1.Action{Kind: "flush_pm2_log", Target: f.Path,
			State:          arcanosv1.ActionState_ACTION_STATE_PLANNED,
			Detail:         "truncate the log of PM2 app " + f.App,
			BytesReclaimed: f.Bytes})
	}
	if r.DryRun || len(plan) == 0 {
		return
	}
	// audit: truncates the PM2 log files planned above (regular files named
	// by PM2 for its apps, same inode as planned); guarded by dry-run and
	// caches.pm2_logs.
	done, errs := pm2.Flush(plan)
	for _, f := range done {
		if a := actions[f.Path]; a != nil {
			rec.Update(a, arcanosv1.ActionState_ACTION_STATE_DONE, "truncated")
		}
	}
	for _, e := range errs {
		rec.Errorf("flush pm2 log: %v", e)
	}
	markUnfinished(rec, actions)
}

func (r *Run) cleanDocker(ctx context.Context, rec *Recorder) {
	var plan []docker.PruneItem
	err := rec.Source(ctx, "docker_leftovers", r.source(), func(ctx context.Context) (int, error) {
		if r.inv.docker == nil {
			return 0, source.Unavailable("no Docker engine was reached")
		}
		age := r.Settings.Caches.DockerAge
		if age <= 0 {
			age = docker.AnyAge
		}
		var err error
		plan, err = r.inv.docker.PrunePlan(ctx, docker.PruneOptions{
			MinAge: age, Labels: r.Settings.Caches.DockerLabel})
		return len(plan), err
	})
	if err != nil {
		return
	}

	actions := make(map[string]*arcanosv1.Action, len(plan))
	for _, it := range plan {
		actions[it.Kind+"/"+it.ID] = rec.Action(&arcanosv1.Action{Kind: "prune_docker",
			Target: it.Kind + " " + nameOrID(it), State: arcanosv1.ActionState_ACTION_STATE_PLANNED,
			Detail: it.Reason, BytesReclaimed: it.Bytes})
	}
	if r.DryRun || len(plan) == 0 {
		return
	}
	var done []docker.PruneItem
	var errs []error
	_ = bounded(ctx, r.source(), func(ctx context.Context) error {
		// audit: removes the Docker leftovers planned above, each re-checked
		// unused by docker.Prune; guarded by dry-run and caches.docker.
		done, errs = r.inv.docker.Prune(ctx, plan)
		return nil
	})
	for _, it := range done {
		if a := actions[it.Kind+"/"+it.ID]; a != nil {
			rec.Update(a, arcanosv1.ActionState_ACTION_STATE_DONE, "removed")
		}
	}
	for _, e := range errs {
		rec.Errorf("docker prune: %v", e)
	}
	markUnfinished(rec, actions)
}

func nameOrID(it docker.PruneItem) string {
	if it.Name != "" {
		return it.Name
	}
	return shortID(it.ID)
}

func (r *Run) cleanPidFiles(ctx context.Context, rec *Recorder) {
	var files []pidfiles.File
	err := rec.Source(ctx, "pid_files", r.source(), func(ctx context.Context) (int, error) {
		if r.Settings.Root != "/" {
			return 0, source.Unavailable("pid files are judged only on the live root, not %s", r.Settings.Root)
		}
		if !r.inv.procsOK {
			return 0, source.Unavailable("the process list could not be read")
		}
		alive := make(map[int32]bool, len(r.inv.procs))
		for _, p := range r.inv.procs {
			if !p.Zombie {
				alive[p.PID] = true
			}
		}
		var err error
		files, err = pidfiles.Scan(ctx, r.Root, r.Settings.Caches.PidDirs,
			func(pid int32) bool { return alive[pid] })
		return len(files), err
	})
	if err != nil {
		return
	}

	var stale []pidfiles.File
	actions := map[string]*arcanosv1.Action{}
	for _, f := range files {
		if !f.Stale {
			continue
		}
		stale = append(stale, f)
		actions[f.Path] = rec.Action(&arcanosv1.Action{Kind: "remove_file", Target: f.Path,
			State:  arcanosv1.ActionState_ACTION_STATE_PLANNED,
			Detail: fmt.Sprintf("stale: %s", f.Reason), BytesReclaimed: f.Bytes})
	}
	if r.DryRun || len(stale) == 0 {
		return
	}
	if initial, err := procs.InInitialPIDNamespace(); !initial {
		// A pid file under a shared filesystem may belong to a process
		// outside this namespace, which looks dead from here.
		why := "the agent runs in a nested PID namespace, where a live owner outside it looks dead; remove by hand after checking"
		if err != nil {
			why = "cannot tell which PID namespace the agent runs in: " + err.Error()
		}
		for _, a := range actions {
			rec.Update(a, arcanosv1.ActionState_ACTION_STATE_REFUSED, why)
		}
		return
	}
	// audit: removes the stale pid/lock files planned above, each re-checked
	// (same inode, same content, owner still dead) by pidfiles.Remove;
	// guarded by dry-run and caches.pid_files.
	done, errs := pidfiles.Remove(r.Root, stale)
	for _, f := range done {
		if a := actions[f.Path]; a != nil {
			rec.Update(a, arcanosv1.ActionState_ACTION_STATE_DONE, "removed")
		}
	}
	for _, e := range errs {
		rec.Errorf("remove pid file: %v", e)
	}
	markUnfinished(rec, actions)
}

// markUnfinished turns planned actions of a real run that were not carried
// out into failed ones, so nothing reads as done that was not.
func markUnfinished(rec *Recorder, actions map[string]*arcanosv1.Action) {
	for _, a := range actions {
		rec.mu.Lock()
		planned := a.State == arcanosv1.ActionState_ACTION_STATE_PLANNED
		rec.mu.Unlock()
		if planned {
			rec.Update(a, arcanosv1.ActionState_ACTION_STATE_FAILED, "not carried out; see the phase errors")
		}
	}
}
