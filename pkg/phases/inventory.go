package phases

import (
	"context"
	"fmt"

	"github.com/arcanos-dev/arcanos/pkg/docker"
	"github.com/arcanos-dev/arcanos/pkg/pm2"
	"github.com/arcanos-dev/arcanos/pkg/procs"
	"github.com/arcanos-dev/arcanos/pkg/source"
	"github.com/arcanos-dev/arcanos/pkg/systemd"
)

// Source names as they appear in results.
const (
	srcProcesses = "processes"
	srcDocker    = "docker"
	srcPM2       = "pm2"
	srcSystemd   = "systemd"
)

// ensureInventory reads processes, containers, PM2 apps and systemd units
// once per run, recording each source's status in rec. Phases other than
// detect call it too, so that `--phases terminate` alone still works.
func (r *Run) ensureInventory(ctx context.Context, rec *Recorder) {
	if r.inv.collected {
		return
	}
	r.inv.collected = true

	var ps []procs.Process
	if err := rec.Source(ctx, srcProcesses, r.source(), func(ctx context.Context) (int, error) {
		var err error
		ps, err = procs.List(ctx, procs.ListOptions{Ports: true})
		return len(ps), err
	}); err == nil {
		r.inv.procs, r.inv.procsOK = ps, true
		r.ancestors = ancestorsIn(ps, r.selfPID)
	}

	var dc *docker.Client
	var ctrs []docker.Container
	if err := rec.Source(ctx, srcDocker, r.source(), func(ctx context.Context) (int, error) {
		c, err := docker.New(ctx, r.Settings.Docker.Host)
		if err != nil {
			return 0, err
		}
		dc = c
		ctrs, err = c.Containers(ctx, true)
		return len(ctrs), err
	}); err == nil {
		r.inv.docker, r.inv.containers, r.inv.containersOK = dc, ctrs, true
	} else if dc != nil {
		_ = dc.Close()
	}

	r.collectPM2(ctx, rec)

	var sc *systemd.Client
	var units []systemd.Unit
	if err := rec.Source(ctx, srcSystemd, r.source(), func(ctx context.Context) (int, error) {
		c, err := systemd.Dial(ctx, r.Settings.Systemd.Bus)
		if err != nil {
			return 0, err
		}
		sc = c
		units, err = c.Units(ctx)
		return len(units), err
	}); err == nil {
		r.inv.systemd, r.inv.units, r.inv.unitsOK = sc, units, true
	} else if sc != nil {
		sc.Close()
	}

	r.judgeAll()
}

// collectPM2 finds every PM2 daemon in the process list and reads each one's
// apps. It never runs pm2 where no daemon runs, so it never starts one.
func (r *Run) collectPM2(ctx context.Context, rec *Recorder) {
	if !r.inv.procsOK {
		_ = rec.Source(ctx, srcPM2, r.source(), func(context.Context) (int, error) {
			return 0, fmt.Errorf("PM2 daemons are found from the process list, which could not be read")
		})
		return
	}
	daemons := pm2.Discover(r.inv.procs)
	r.inv.pm2Daemons = daemons

	var apps []pm2.App
	err := rec.Source(ctx, srcPM2, r.source(), func(ctx context.Context) (int, error) {
		if len(daemons) == 0 {
			return 0, errNoPM2Daemon
		}
		runner := r.pm2Runner()
		var firstErr error
		for _, d := range daemons {
			got, err := runner.Apps(ctx, d)
			if err != nil {
				r.Log.Debug("pm2 daemon unreadable", "home", d.Home, "err", err)
				if firstErr == nil {
					firstErr = fmt.Errorf("pm2 daemon %s: %w", d.Home, err)
				}
				continue
			}
			apps = append(apps, got...)
		}
		if len(apps) == 0 && firstErr != nil {
			return 0, firstErr
		}
		return len(apps), nil
	})
	if err == nil {
		r.inv.pm2Apps, r.inv.pm2OK = apps, true
	}
}

func (r *Run) pm2Runner() pm2.Runner {
	return pm2.Runner{Bin: r.Settings.PM2.Bin, Timeout: r.source(), MaxOutput: 32 << 20}
}

// ancestorsIn walks the parent chain of pid through the process list.
func ancestorsIn(ps []procs.Process, pid int32) map[int32]bool {
	parent := make(map[int32]int32, len(ps))
	for _, p := range ps {
		parent[p.PID] = p.PPID
	}
	out := map[int32]bool{}
	for cur := parent[pid]; cur > 0 && !out[cur]; cur = parent[cur] {
		out[cur] = true
	}
	return out
}

var errNoPM2Daemon = source.Unavailable("no PM2 daemon runs on this host")
