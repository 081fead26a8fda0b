package phases

import (
	"context"
	"path"
	"strings"

	"github.com/arcanos-dev/arcanos/pkg/redact"
	"github.com/arcanos-dev/arcanos/pkg/startup"
	"github.com/arcanos-dev/arcanos/pkg/startup/compose"
	"github.com/arcanos-dev/arcanos/pkg/startup/cron"
	"github.com/arcanos-dev/arcanos/pkg/startup/initd"
	"github.com/arcanos-dev/arcanos/pkg/startup/pm2startup"
	"github.com/arcanos-dev/arcanos/pkg/startup/unitfiles"
	"github.com/arcanos-dev/arcanos/pkg/startup/xdg"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// startupPhase audits everything that brings a daemon back after a reboot:
// systemd units, init.d scripts, XDG autostart, PM2 startup, compose files
// and cron @reboot entries, each judged against the allowlist.
type startupPhase struct{}

func (startupPhase) Name() string { return Startup }

func (startupPhase) Run(ctx context.Context, run *Run, rec *Recorder) {
	if run.Root == nil {
		rec.Errorf("no filesystem root to audit")
		return
	}
	// The systemd view and compose labels come from the inventory when the
	// detect phase ran; the startup audit does not need them otherwise.
	var composeFiles []string
	for _, c := range run.inv.containers {
		composeFiles = append(composeFiles, c.ComposeConfigFiles...)
	}

	var items []startup.Item
	scan := func(name string, fn func(ctx context.Context) ([]startup.Item, error)) []startup.Item {
		var got []startup.Item
		_ = rec.Source(ctx, name, run.source(), func(ctx context.Context) (int, error) {
			var err error
			got, err = fn(ctx)
			return len(got), err
		})
		return got
	}

	units := scan("unit_files", func(ctx context.Context) ([]startup.Item, error) {
		return unitfiles.Scan(ctx, run.Root, run.Users)
	})
	if run.inv.unitsOK && run.inv.systemd != nil {
		var states map[string]string
		if err := rec.Source(ctx, "systemd_unit_files", run.source(), func(ctx context.Context) (int, error) {
			var err error
			states, err = run.inv.systemd.UnitFileStates(ctx)
			return len(states), err
		}); err == nil {
			unitfiles.ApplySystemdView(units, states)
		}
	}
	items = append(items, units...)

	native := map[string]bool{}
	for _, u := range units {
		native[strings.TrimSuffix(u.Name, ".service")] = true
		native[u.Name] = true
	}
	items = append(items, scan("initd", func(ctx context.Context) ([]startup.Item, error) {
		return initd.Scan(ctx, run.Root, run.Users, native)
	})...)
	items = append(items, scan("xdg_autostart", func(ctx context.Context) ([]startup.Item, error) {
		return xdg.Scan(ctx, run.Root, run.Users)
	})...)
	items = append(items, scan("pm2_startup", func(ctx context.Context) ([]startup.Item, error) {
		return pm2startup.Scan(ctx, run.Root, run.Users)
	})...)
	items = append(items, scan("compose", func(ctx context.Context) ([]startup.Item, error) {
		return compose.Scan(ctx, run.Root, run.Users, run.Settings.ComposeDirs, composeFiles)
	})...)
	items = append(items, scan("cron", func(ctx context.Context) ([]startup.Item, error) {
		return cron.Scan(ctx, run.Root, run.Users)
	})...)

	for _, it := range items {
		if it.Kind == unitfiles.Kind && !activates(it.Name) {
			// Targets, slices, mounts and devices order and group units;
			// they start no daemon of their own.
			continue
		}
		v, why := run.judgeStartup(it)
		rec.Finding(&arcanosv1.Finding{Kind: it.Kind, Subject: it.Name, Verdict: v,
			Reason: why, Evidence: startupEvidence(it)})
	}
}

// activates reports whether a unit of this name can start a daemon: a
// service, or a socket, timer or path unit that activates one.
func activates(unit string) bool {
	switch path.Ext(unit) {
	case ".service", ".socket", ".timer", ".path":
		return true
	}
	return false
}

// startsAtBoot reports whether an item's state means it runs after a reboot.
func startsAtBoot(it startup.Item) bool {
	switch it.State {
	case "disabled", "masked", "hidden", "shadowed", "manual", "ignored", "missing",
		"bad", "not-found", "static", "indirect", "alias", "transient", "enabled-runtime":
		return false
	}
	return true
}

// judgeStartup judges a startup item by what it starts.
func (r *Run) judgeStartup(it startup.Item) (arcanosv1.Verdict, string) {
	if it.State == "unreadable" {
		return arcanosv1.Verdict_VERDICT_UNKNOWN, "could not be read: " + strings.Join(it.Notes, "; ")
	}
	if !startsAtBoot(it) {
		return arcanosv1.Verdict_VERDICT_UNKNOWN, "does not start at boot (" + it.State + ")"
	}
	switch it.Kind {
	case "unit_file", "initd_script":
		return r.judgeUnit(it.Name)
	case "pm2_startup":
		return r.judgeNames("PM2 app", it.Starts, func(s string) (bool, string) {
			if r.Allowlist.PM2Ecosystem == "" {
				return false, "no pm2Ecosystem in the allowlist"
			}
			return r.Allowlist.MatchPM2App(s)
		}, it.Notes)
	case "compose_file":
		return r.judgeNames("image", it.Starts, func(s string) (bool, string) {
			if strings.HasPrefix(s, "build:") {
				return false, "built locally, no image reference to check"
			}
			return r.Allowlist.MatchImage(s)
		}, it.Notes)
	default:
		return r.judgeNames("command", it.Starts, r.matchCommand, it.Notes)
	}
}

// judgeNames is authorized when every started thing is.
func (r *Run) judgeNames(what string, names []string, match func(string) (bool, string),
	notes []string) (arcanosv1.Verdict, string) {
	if len(names) == 0 {
		return arcanosv1.Verdict_VERDICT_UNKNOWN, "starts nothing that could be read"
	}
	var bad []string
	for _, n := range names {
		if ok, why := match(n); !ok {
			bad = append(bad, what+" "+redactCommand(n)+": "+why)
		}
	}
	if len(bad) > 0 {
		return arcanosv1.Verdict_VERDICT_UNAUTHORIZED, strings.Join(bad, "; ")
	}
	why := "every " + what + " it starts is authorized"
	if len(notes) > 0 {
		why += " (" + strings.Join(notes, "; ") + ")"
	}
	return arcanosv1.Verdict_VERDICT_AUTHORIZED, why
}

// redactCommand hides secret-looking values in a startup command line.
func redactCommand(cmd string) string {
	if !strings.ContainsAny(cmd, " \t") && !strings.Contains(cmd, "://") {
		return cmd
	}
	return redact.String(strings.Fields(cmd))
}

// matchCommand judges a command line by its program, as a process would be.
func (r *Run) matchCommand(cmd string) (bool, string) {
	fields := strings.Fields(cmd)
	if len(fields) == 0 {
		return false, "empty command"
	}
	prog := fields[0]
	for _, f := range fields {
		// Skip wrappers that only set up the real program.
		if f == "env" || f == "nohup" || f == "exec" || strings.Contains(f, "=") {
			continue
		}
		prog = f
		break
	}
	if g := r.protectedName(path.Base(prog)); g != "" {
		return true, "protected name " + g
	}
	return r.matchProgram(prog)
}

func startupEvidence(it startup.Item) map[string]string {
	ev := map[string]string{"path": it.Path, "state": it.State}
	set := func(k, v string) {
		if v != "" {
			ev[k] = v
		}
	}
	set("owner", it.Owner)
	set("mode", it.Mode)
	set("sha256", it.SHA256)
	set("scope", it.Scope)
	set("run_as", it.RunAs)
	starts := make([]string, len(it.Starts))
	for i, st := range it.Starts {
		starts[i] = redactCommand(st)
	}
	set("starts", strings.Join(starts, " ; "))
	set("notes", strings.Join(it.Notes, " ; "))
	return ev
}
