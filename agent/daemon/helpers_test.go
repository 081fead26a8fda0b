package daemon

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/arcanos-dev/arcanos/pkg/settings"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// testAllowlist authorizes a few things; the tests care only that it parses.
const testAllowlist = `{"authorizedProcesses": ["sleep"], "authorizedServices": ["ssh.service"]}`

// testSettings keeps purges fast and away from this machine's Docker
// engine, systemd bus and PM2 daemons (their addresses lead nowhere), with
// quick reconnects.
func testSettings(t *testing.T, stateDir string) settings.Agent {
	t.Helper()
	dir := t.TempDir()
	st := settings.Defaults()
	st.LogDir = filepath.Join(dir, "logs")
	st.Docker.Host = "unix://" + filepath.Join(dir, "no-docker.sock")
	st.Systemd.Bus = "unix:path=" + filepath.Join(dir, "no-bus.sock")
	st.PM2.Bin = filepath.Join(dir, "no-pm2")
	st.Fleet.StateDir = stateDir
	st.Fleet.Heartbeat = time.Second
	st.Fleet.BackoffMin = 5 * time.Millisecond
	st.Fleet.BackoffMax = 50 * time.Millisecond
	return st
}

// enrollHost enrolls a new state directory with fc as host and returns it.
func enrollHost(t *testing.T, fc *fakeController, host string, labels map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state")
	_, err := Enroll(t.Context(), EnrollOptions{Controller: fc.addr, Token: fc.token(),
		CAFingerprint: fc.ca.Fingerprint(), Hostname: host, Labels: labels, StateDir: dir})
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	return dir
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// agent is a daemon running in the background of a test.
type agent struct {
	*Daemon
	cancel context.CancelFunc
	done   chan error
}

// newAgent prepares a daemon without starting it, so a test can wrap its
// purge function first.
func newAgent(t *testing.T, st settings.Agent) *agent {
	t.Helper()
	d, err := New(Config{Settings: st, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return &agent{Daemon: d}
}

func (a *agent) start(t *testing.T) *agent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel, a.done = cancel, make(chan error, 1)
	go func() { a.done <- a.Run(ctx) }()
	t.Cleanup(func() { a.stop(t) })
	return a
}

// stop cancels the daemon, as SIGTERM does, and waits for Run to return.
func (a *agent) stop(t *testing.T) {
	t.Helper()
	if a.cancel == nil {
		return
	}
	a.cancel()
	a.cancel = nil
	select {
	case err := <-a.done:
		if err != nil {
			t.Errorf("Run returned %v after being stopped", err)
		}
	case <-time.After(waitFor):
		t.Fatal("the daemon did not stop after its context was cancelled")
	}
}

func runCommand(id string, dry bool, phases ...string) *arcanosv1.ConnectResponse {
	return &arcanosv1.ConnectResponse{Msg: &arcanosv1.ConnectResponse_Run{Run: &arcanosv1.RunCommand{
		RunId: id, DryRun: dry, Phases: phases, AllowlistJson: []byte(testAllowlist),
		AllowlistVersion: 7, Deadline: timestamppb.New(time.Now().Add(time.Minute))}}}
}

// eventually polls cond until it holds; waitFor turns a hang into a failure.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// spoolFiles lists the report files on disk in a state directory.
func spoolFiles(t *testing.T, stateDir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(stateDir, SpoolDir, "*"+spoolExt))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
