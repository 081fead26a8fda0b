package purge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/purge"
	"github.com/arcanos-dev/arcanos/pkg/settings"
	"github.com/arcanos-dev/arcanos/pkg/testbed"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// writeAllowlist writes an allowlist in the operators' format.
func writeAllowlist(t *testing.T, dir string, doc map[string]any) string {
	t.Helper()
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "authorized-services.json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// actionsFor returns "phase kind state" for every action whose target
// contains target, or equals it when target starts with "=".
func actionsFor(res *arcanosv1.RunResult, target string) []string {
	var out []string
	for _, p := range res.Phases {
		for _, a := range p.Actions {
			exact, ok := strings.CutPrefix(target, "=")
			if (ok && a.Target == exact) || (!ok && strings.Contains(a.Target, target)) {
				out = append(out, p.Name+" "+a.Kind+" "+strings.ToLower(strings.TrimPrefix(a.State.String(), "ACTION_STATE_")))
			}
		}
	}
	return out
}

func verdictOf(res *arcanosv1.RunResult, phase, kind, subject string) string {
	for _, p := range res.Phases {
		if p.Name != phase {
			continue
		}
		for _, f := range p.Findings {
			if f.Kind == kind && f.Subject == subject {
				return strings.ToLower(strings.TrimPrefix(f.Verdict.String(), "VERDICT_"))
			}
		}
	}
	return "absent"
}

// TestDryRunChangesNothing prepares a host with something for every phase to
// act on, enables termination and restarts in the host's settings so that
// only dry-run stands between the plan and the host, runs a dry run, and
// compares the host before and after.
func TestDryRunChangesNothing(t *testing.T) {
	if !testbed.InPIDNamespace(t) {
		return
	}
	h := newHost(t)

	// detect + terminate: an unauthorized process, a masquerading one, an
	// authorized one.
	h.start("authorized", "/usr/bin/sleep", "1000")
	h.start("miner", filepath.Join(h.bin, "evil-miner"), "1000")
	h.start("masquerade", filepath.Join(h.bin, "sleep"), "1000")
	// caches: a stale pid file, old enough to be judged.
	stale := filepath.Join(h.dir, "run", "gone.pid")
	if err := os.WriteFile(stale, []byte("999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	_ = os.Chtimes(stale, old, old)

	ecosystem := h.startPM2()
	h.prepareDocker()
	h.startSystemd()

	al := writeAllowlist(t, h.dir, map[string]any{
		"authorizedProcesses": []any{map[string]any{"name": "sleep", "exe": "/usr/bin/sleep"}},
		"authorizedServices":  []string{"webapp"},
		"pm2Ecosystem":        ecosystem,
		"allowedDockerImages": []string{"postgres"},
	})

	st := settings.Defaults()
	st.Allowlist = al
	st.LogDir = filepath.Join(h.dir, "logs")
	st.Terminate.Enabled = true
	st.Terminate.Grace = time.Second
	st.Services.Restart = true
	st.Caches.PidDirs = []string{filepath.Join(h.dir, "run")}
	st.Caches.DockerAge = 0
	st.Caches.DockerLabel = []string{h.label}
	st.Systemd.Bus = h.busAddr
	st.ComposeDirs = []string{h.dir}

	before := h.snapshot(st.LogDir)
	res, err := purge.Run(context.Background(), purge.Options{DryRun: true, Settings: st})
	if err != nil {
		t.Fatal(err)
	}
	after := h.snapshot(st.LogDir)

	if d := diff(before, after); len(d) > 0 {
		t.Errorf("the dry run changed the host:\n  %s", strings.Join(d, "\n  "))
	}

	// The plan names something in every phase that acts, and nothing is
	// done, refused or failed.
	for _, p := range res.Phases {
		for _, a := range p.Actions {
			if a.State == arcanosv1.ActionState_ACTION_STATE_DONE || a.State == arcanosv1.ActionState_ACTION_STATE_FAILED {
				t.Errorf("dry run has a %s action: %v", a.State, a)
			}
		}
	}
	want := map[string][]string{
		"evil-miner":    {"terminate signal planned"},
		"(sleep)":       {"terminate signal planned"},
		"=rogue":        {"terminate stop_pm2_app planned"},
		"rogue-out.log": {"caches flush_pm2_log planned"},
		"gone.pid":      {"caches remove_file planned"},
		"webapp":        {"services restart planned"},
	}
	for target, w := range want {
		got := actionsFor(res, target)
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("actions on %q = %v, want %v", target, got, w)
		}
	}
	if got := actionsFor(res, "arcanos-test-rogue-"); fmt.Sprint(got) != "[terminate stop_container planned]" {
		t.Errorf("actions on the rogue container = %v", got)
	}
	prunes := 0
	for _, a := range actionsFor(res, "") {
		if a == "caches prune_docker planned" {
			prunes++
		}
	}
	if prunes != 3 {
		t.Errorf("want 3 planned prunes (exited container, dangling image, anonymous volume), got %d: %v",
			prunes, actionsFor(res, ""))
	}
	if got := actionsFor(res, "arcanos-test-named-"); len(got) != 0 {
		t.Errorf("a named volume was planned for removal: %v", got)
	}
	if got := actionsFor(res, "pid "+fmt.Sprint(h.procs["authorized"].Process.Pid)+" "); len(got) != 0 {
		t.Errorf("the authorized process was planned: %v", got)
	}

	checks := []struct{ phase, kind, subject, want string }{
		{"detect", "process", "evil-miner", "unauthorized"},
		{"detect", "pm2_app", "rogue", "unauthorized"},
		{"detect", "pm2_app", "api", "authorized"},
		{"detect", "systemd_service", "legacy-worker.service", "unauthorized"},
	}
	for _, c := range checks {
		if got := verdictOf(res, c.phase, c.kind, c.subject); got != c.want {
			t.Errorf("%s %s %q: verdict %s, want %s", c.phase, c.kind, c.subject, got, c.want)
		}
	}

	for _, name := range []string{"daemon-scan.log", "daemon-clean.log"} {
		data, err := os.ReadFile(filepath.Join(st.LogDir, name))
		if err != nil || !strings.Contains(string(data), "DRY RUN") {
			t.Errorf("%s missing or not marked as a dry run: %v", name, err)
		}
	}
	if code := purge.ExitCode(res); code != purge.ExitUnauthorized {
		t.Errorf("exit code %d, want %d (unauthorized findings)", code, purge.ExitUnauthorized)
	}
}
