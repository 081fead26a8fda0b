package purge_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/purge"
	"github.com/arcanos-dev/arcanos/pkg/settings"
	"github.com/arcanos-dev/arcanos/pkg/testbed"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// TestRealPurgeStopsExactlyTheUnauthorized runs a real purge, with
// termination enabled, as pid 1 of a PID namespace holding only the test's
// processes: the unauthorized ones end (one of them only by SIGKILL), the
// authorized and protected ones live on, and so does the PM2 app named in the
// ecosystem file.
func TestRealPurgeStopsExactlyTheUnauthorized(t *testing.T) {
	if !testbed.InPIDNamespace(t) {
		return
	}
	h := newHost(t)

	h.start("authorized", "/usr/bin/sleep", "1000")
	h.start("miner", filepath.Join(h.bin, "evil-miner"), "1000")
	h.start("masquerade", filepath.Join(h.bin, "sleep"), "1000")
	h.start("deleted", filepath.Join(h.bin, "vanishing-daemon"), "1000")
	if err := os.Remove(filepath.Join(h.bin, "vanishing-daemon")); err != nil {
		t.Fatal(err)
	}
	stubborn := startStubborn(t, h)
	// Named like a protected daemon but run from a temporary directory:
	// masquerading, so unauthorized. A protected name running from a system
	// path (tail, made protected below) is never acted on.
	h.start("fake-protected", filepath.Join(h.bin, "irqbalance"), "1000")
	protected := exec.Command("/usr/bin/tail", "-f", "/dev/null")
	if err := protected.Start(); err != nil {
		t.Fatal(err)
	}
	h.procs["protected"] = protected
	t.Cleanup(func() { _ = protected.Process.Kill(); _, _ = protected.Process.Wait() })

	ecosystem := h.startPM2()
	stale := filepath.Join(h.dir, "run", "gone.pid")
	_ = os.WriteFile(stale, []byte("999999\n"), 0o644)
	old := time.Now().Add(-2 * time.Hour)
	_ = os.Chtimes(stale, old, old)

	al := writeAllowlist(t, h.dir, map[string]any{
		"authorizedProcesses": []any{map[string]any{"name": "sleep", "exe": "/usr/bin/sleep"}},
		"pm2Ecosystem":        ecosystem,
	})
	st := settings.Defaults()
	st.Allowlist = al
	st.LogDir = filepath.Join(h.dir, "logs")
	st.Terminate.Enabled = true
	st.Terminate.Grace = 2 * time.Second
	st.Caches.PidDirs = []string{filepath.Join(h.dir, "run")}
	// No Docker engine and no systemd for this run: other tests' containers
	// live on the same engine and must never be in a real run's reach.
	st.Docker.Host = "unix://" + filepath.Join(h.dir, "no-docker.sock")
	st.Systemd.Bus = "unix:path=" + filepath.Join(h.dir, "no-bus.sock")
	st.ComposeDirs = nil
	st.ProtectedNames = []string{"tail"}

	res, err := purge.Run(context.Background(), purge.Options{DryRun: false, Settings: st})
	if err != nil {
		t.Fatal(err)
	}

	for role, want := range map[string]bool{
		"authorized": true, "protected": true, "fake-protected": false,
		"miner": false, "masquerade": false, "deleted": false, "stubborn": false,
	} {
		if role == "stubborn" {
			continue
		}
		if got := h.alive(role); got != want {
			t.Errorf("%s alive = %v, want %v; actions: %v", role, got, want,
				actionsFor(res, fmt.Sprintf("pid %d ", h.procs[role].Process.Pid)))
		}
	}
	if alivePID(stubborn.Process.Pid) {
		t.Error("the process that ignores SIGTERM survived")
	}
	if got := actionText(res, fmt.Sprintf("pid %d ", stubborn.Process.Pid)); !strings.Contains(got, "SIGKILL") {
		t.Errorf("the stubborn process's action does not say SIGKILL: %q", got)
	}

	apps := map[string]string{}
	for _, a := range h.pm2List() {
		apps[a.Name] = a.Status
	}
	if apps["api"] != "online" || apps["rogue"] != "stopped" {
		t.Errorf("pm2 apps after the purge = %v, want api online and rogue stopped", apps)
	}
	// This run is in a nested PID namespace on the host's filesystem: a pid
	// file's owner could live outside it, so removal is refused.
	if _, err := os.Stat(stale); err != nil {
		t.Errorf("a pid file was removed from a nested PID namespace: %v", err)
	}
	if got := actionText(res, stale); !strings.HasPrefix(got, "ACTION_STATE_REFUSED") ||
		!strings.Contains(got, "nested PID namespace") {
		t.Errorf("pid file action = %q, want refused for the nested PID namespace", got)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "app", "ecosystem.config.js")); err != nil {
		t.Errorf("a file that was not planned is gone: %v", err)
	}
	for _, p := range res.Phases {
		for _, a := range p.Actions {
			if a.State == arcanosv1.ActionState_ACTION_STATE_FAILED {
				t.Errorf("failed action: %v", a)
			}
		}
	}
}

// startStubborn starts a shell that ignores SIGTERM.
func startStubborn(t *testing.T, h *host) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("/bin/bash", "-c", `trap "" TERM; while :; do sleep 0.2; done`)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h.procs["stubborn"] = cmd
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	})
	// Let bash install its trap before the purge looks at it.
	time.Sleep(300 * time.Millisecond)
	return cmd
}

func alivePID(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] != 'Z'
}

func actionText(res *arcanosv1.RunResult, target string) string {
	for _, p := range res.Phases {
		for _, a := range p.Actions {
			if strings.Contains(a.Target, target) {
				return a.State.String() + " " + a.Detail
			}
		}
	}
	return ""
}
