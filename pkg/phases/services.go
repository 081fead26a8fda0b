package phases

import (
	"context"
	"strings"

	"github.com/arcanos-dev/arcanos/pkg/pm2"
	"github.com/arcanos-dev/arcanos/pkg/systemd"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// servicesPhase checks that every authorized service runs: systemd units
// named in authorizedServices, PM2 apps of the ecosystem file and containers
// of allowed images. For each one that does not, it gives the exact restart
// command, and restarts it only when the settings ask for it.
type servicesPhase struct{}

func (servicesPhase) Name() string { return Services }

func (servicesPhase) Run(ctx context.Context, run *Run, rec *Recorder) {
	run.ensureInventory(ctx, rec)
	run.checkUnits(ctx, rec)
	run.checkApps(ctx, rec)
	run.checkContainers(rec)
}

func (r *Run) checkUnits(ctx context.Context, rec *Recorder) {
	byName := map[string]systemd.Unit{}
	for _, u := range r.inv.units {
		byName[u.Name] = u
	}
	for _, want := range r.Allowlist.Services {
		name := want
		if !strings.Contains(name, ".") {
			name += ".service"
		}
		f := &arcanosv1.Finding{Kind: "service", Subject: name,
			Verdict: arcanosv1.Verdict_VERDICT_AUTHORIZED, Evidence: map[string]string{"manager": "systemd"}}
		if !r.inv.unitsOK {
			f.Verdict = arcanosv1.Verdict_VERDICT_UNKNOWN
			f.Reason = "systemd could not be read, so the state is unknown"
			rec.Finding(f)
			continue
		}
		u, ok := byName[name]
		if !ok {
			f.Reason = "authorized but not loaded on this host"
			f.Evidence["state"] = "not-found"
			rec.Finding(f)
			continue
		}
		f.Evidence["state"] = u.ActiveState + " (" + u.SubState + ")"
		f.Evidence["enabled_state"] = u.UnitFileState
		if u.ActiveState == "active" {
			f.Reason = "running"
			rec.Finding(f)
			continue
		}
		f.Reason = "not running: " + u.ActiveState + "/" + u.SubState
		rec.Finding(f)

		cmd := systemd.RestartCommand(name, "")
		r.restart(ctx, rec, name, cmd, func(ctx context.Context) error {
			// audit: restarts an authorized systemd unit that is not active;
			// guarded by dry-run and services.restart (off by default).
			return r.inv.systemd.Restart(ctx, name)
		})
	}
}

func (r *Run) checkApps(ctx context.Context, rec *Recorder) {
	if r.Allowlist.PM2Ecosystem == "" {
		return
	}
	byName := map[string]pm2.App{}
	for _, a := range r.inv.pm2Apps {
		byName[a.Name] = a
	}
	for _, name := range r.Allowlist.PM2Apps {
		f := &arcanosv1.Finding{Kind: "service", Subject: name,
			Verdict: arcanosv1.Verdict_VERDICT_AUTHORIZED, Evidence: map[string]string{"manager": "pm2"}}
		a, ok := byName[name]
		if !r.inv.pm2OK && !ok {
			f.Verdict = arcanosv1.Verdict_VERDICT_UNKNOWN
			f.Reason = "no PM2 daemon could be read, so the state is unknown"
			f.Evidence["restart_command"] = "pm2 start " + r.Allowlist.PM2Ecosystem + " --only " + name
			rec.Finding(f)
			continue
		}
		if !ok {
			f.Reason = "in the ecosystem file but not running under any PM2 daemon"
			cmd := "pm2 start " + r.Allowlist.PM2Ecosystem + " --only " + name
			f.Evidence["restart_command"] = cmd
			rec.Finding(f)
			rec.Action(&arcanosv1.Action{Kind: "restart", Target: name,
				State:  arcanosv1.ActionState_ACTION_STATE_REFUSED,
				Detail: "not known to any PM2 daemon; start it as its owner: " + cmd})
			continue
		}
		f.Evidence["state"] = a.Status
		f.Evidence["pm2_home"] = a.Daemon.Home
		if a.Status == "online" {
			f.Reason = "online"
			rec.Finding(f)
			continue
		}
		f.Reason = "not online: " + a.Status
		rec.Finding(f)
		cmd := pm2.RestartCommand(a.Daemon, name)
		r.restart(ctx, rec, name, cmd, func(ctx context.Context) error {
			// audit: restarts an authorized PM2 app that is not online;
			// guarded by dry-run and services.restart (off by default).
			return r.pm2Runner().Restart(ctx, a.Daemon, name)
		})
	}
}

func (r *Run) checkContainers(rec *Recorder) {
	for _, jc := range r.inv.judgedCtr {
		if jc.verdict != arcanosv1.Verdict_VERDICT_AUTHORIZED {
			continue
		}
		f := &arcanosv1.Finding{Kind: "service", Subject: jc.c.Name,
			Verdict: arcanosv1.Verdict_VERDICT_AUTHORIZED,
			Evidence: map[string]string{"manager": "docker", "state": jc.c.State,
				"image": jc.c.Image}}
		if jc.c.State == "running" {
			f.Reason = "running"
			rec.Finding(f)
			continue
		}
		f.Reason = "not running: " + jc.c.State
		f.Evidence["restart_command"] = "docker start " + jc.c.Name
		rec.Finding(f)
		rec.Action(&arcanosv1.Action{Kind: "restart", Target: jc.c.Name,
			State:  arcanosv1.ActionState_ACTION_STATE_PLANNED,
			Detail: "restart command: docker start " + jc.c.Name + " (arcanos does not start containers)"})
	}
}

// restart records the restart of one unhealthy authorized service and
// carries it out only in a real run whose settings ask for it.
func (r *Run) restart(ctx context.Context, rec *Recorder, name, cmd string, do func(context.Context) error) {
	a := rec.Action(&arcanosv1.Action{Kind: "restart", Target: name, Detail: "restart command: " + cmd})
	switch {
	case r.DryRun:
		rec.Update(a, arcanosv1.ActionState_ACTION_STATE_PLANNED, "")
		return
	case !r.Settings.Services.Restart:
		rec.Update(a, arcanosv1.ActionState_ACTION_STATE_REFUSED,
			"automatic restarts are off (services.restart: false); run: "+cmd)
		return
	}
	err := bounded(ctx, r.source(), do)
	r.finish(rec, a, err, "restarted with: "+cmd)
}
