package pm2

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/source"
	"github.com/arcanos-dev/arcanos/pkg/testbed"
)

// staleSocket leaves at path a unix socket file that was bound and closed:
// nothing listens on it, as after a daemon killed with SIGKILL.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != os.ModeSocket {
		t.Fatalf("stale socket %s: %v", path, err)
	}
}

// startNodeDaemon starts node titled as a God Daemon for home (with
// process.title, as PM2 does) and returns it as Discover sees it; it is
// killed when the test ends. It listens on nothing.
func startNodeDaemon(t *testing.T, home string) Daemon {
	t.Helper()
	node := testbed.RequireCommand(t, "node")
	title := "PM2 v7.0.4: God Daemon (" + home + ")"
	cmd := exec.Command(node, "-e", "process.title = process.argv[1]; setInterval(() => {}, 1e6)", title)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // the test's own child, by pid
		_ = cmd.Wait()
	})
	var found Daemon
	waitFor(t, "node to take the God Daemon title", func() bool {
		for _, d := range Discover(readProcs()) {
			if d.PID == int32(cmd.Process.Pid) && d.Home == home {
				found = d
				return true
			}
		}
		return false
	})
	return found
}

// The reviewer's case: a process titled as the God Daemon of a home, named
// by its pm2.pid, beside an rpc.sock nothing listens on. Running pm2 there
// would spawn a new daemon, so Apps must refuse before pm2 runs.
func TestAppsRefusesATitledProcessWithAStaleRPCSocket(t *testing.T) {
	cases := []struct {
		name   string
		start  func(t *testing.T, home string) Daemon
		reason string
	}{
		{"sleep titled as a God Daemon", startFakeDaemon, "is not node"},
		{"node titled as a God Daemon", startNodeDaemon, "does not answer on rpc.sock"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newPM2Bed(t, -1, shortHome)
			home := b.home
			if err := os.MkdirAll(home, 0o755); err != nil {
				t.Fatal(err)
			}
			fake := tc.start(t, home)
			pidFile := filepath.Join(home, "pm2.pid")
			if err := os.WriteFile(pidFile, []byte(strconv.Itoa(int(fake.PID))), 0o644); err != nil {
				t.Fatal(err)
			}
			sock := filepath.Join(home, "rpc.sock")
			staleSocket(t, sock)
			t.Cleanup(func() {
				// Runs before the bed's pm2 kill: with no real daemon
				// there, the stale files must not make it run pm2.
				if conn, err := net.Dial("unix", sock); err == nil {
					_ = conn.Close()
					return
				}
				_ = os.Remove(sock)
			})

			_, err := Runner{Timeout: 20 * time.Second}.Apps(t.Context(), fake)
			reason, ok := source.IsUnavailable(err)
			if !ok || !strings.Contains(reason, tc.reason) {
				t.Errorf("Apps error = %v, want unavailable: %s", err, tc.reason)
			}
			for _, d := range daemonsFor(home) {
				if d.PID != fake.PID {
					t.Errorf("a new God Daemon was started for %s: %+v", home, d)
				}
			}
			for _, f := range []string{"pm2.log", "logs", "pub.sock"} {
				if _, err := os.Lstat(filepath.Join(home, f)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s appeared in %s: pm2 ran", f, home)
				}
			}
		})
	}
}
