package pm2

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/procs"
	"github.com/arcanos-dev/arcanos/pkg/testbed"
)

// This file holds what the PM2 tests share: a daemon of the test's own, in
// its own PM2_HOME, ended with `pm2 kill` when the test ends.

const sleeperJS = `console.log("out line from " + process.pid);
console.error("err line from " + process.pid);
setInterval(() => {}, 1000);
`

// pm2Bed is one test's PM2 daemon and its files.
type pm2Bed struct {
	t    *testing.T
	bin  string
	dir  string // HOME of the daemon user, holds app.js
	home string // PM2_HOME
	cred *syscall.Credential
}

// Temp dir prefixes: a home short enough for the daemon's title, and one so
// long that node cuts it from the title.
const (
	shortHome = "apm2-"
	longHome  = "arcanos-pm2-with-a-home-longer-than-a-god-daemon-title-can-hold-"
)

// newPM2Bed prepares a PM2_HOME in a new temp dir named with prefix, for a
// daemon run as uid (-1: the agent's). No daemon runs until an app starts.
func newPM2Bed(t *testing.T, uid int, prefix string) *pm2Bed {
	t.Helper()
	bin := testbed.RequirePM2(t)
	dir, err := os.MkdirTemp("/tmp", prefix)
	if err != nil {
		t.Fatal(err)
	}
	b := &pm2Bed{t: t, bin: bin, dir: dir, home: filepath.Join(dir, ".pm2")}
	t.Cleanup(b.cleanup)

	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app.js"), []byte(sleeperJS), 0o644); err != nil {
		t.Fatal(err)
	}
	if uid >= 0 {
		testbed.RequireRoot(t)
		b.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}}
		for _, p := range []string{dir, filepath.Join(dir, "app.js")} {
			if err := os.Chown(p, uid, uid); err != nil {
				t.Fatal(err)
			}
		}
	}
	return b
}

// pm2 runs the pm2 CLI on the test's PM2_HOME, as the test's daemon user.
func (b *pm2Bed) pm2(env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.bin, args...)
	cmd.Dir = b.dir
	cmd.Env = append([]string{
		"PATH=" + filepath.Dir(b.bin) + ":/usr/local/bin:/usr/bin:/bin",
		"HOME=" + b.dir,
		"PM2_HOME=" + b.home,
	}, env...)
	if b.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: b.cred}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// start starts app.js under name; the first start spawns the daemon.
func (b *pm2Bed) start(name string, env ...string) {
	b.t.Helper()
	if out, err := b.pm2(env, "start", filepath.Join(b.dir, "app.js"), "--name", name); err != nil {
		b.t.Fatalf("pm2 start %s: %v\n%s", name, err, out)
	}
}

func (b *pm2Bed) cleanup() {
	if _, err := os.Stat(filepath.Join(b.home, "rpc.sock")); err == nil {
		if out, err := b.pm2(nil, "kill"); err != nil {
			b.t.Errorf("pm2 kill for %s: %v\n%s", b.home, err, out)
		}
	}
	// pm2 kill returns while the daemon is still on its way out.
	var left []Daemon
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if left = daemonsFor(b.home); len(left) == 0 {
			break
		}
	}
	if len(left) > 0 {
		b.t.Errorf("daemon for %s still runs after pm2 kill: %+v", b.home, left)
		return // leave its files for a person to look at
	}
	_ = os.RemoveAll(b.dir)
}

// daemon returns the test's daemon as Discover finds it in the real
// process list.
func (b *pm2Bed) daemon() Daemon {
	b.t.Helper()
	ds := daemonsFor(b.home)
	if len(ds) != 1 {
		b.t.Fatalf("Discover found %d daemons for %s, want 1: %+v", len(ds), b.home, ds)
	}
	return ds[0]
}

func daemonsFor(home string) []Daemon {
	var out []Daemon
	for _, d := range Discover(readProcs()) {
		if d.Home == home {
			out = append(out, d)
		}
	}
	return out
}

// readProcs reads the fields Discover uses from /proc.
// TODO(procs): use procs.List once pkg/procs is committed.
func readProcs() []procs.Process {
	ents, _ := os.ReadDir("/proc")
	var ps []procs.Process
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join("/proc", e.Name())
		cmdline, err1 := os.ReadFile(filepath.Join(dir, "cmdline"))
		comm, err2 := os.ReadFile(filepath.Join(dir, "comm"))
		status, err3 := os.ReadFile(filepath.Join(dir, "status"))
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		p := procs.Process{PID: int32(pid), Comm: strings.TrimSuffix(string(comm), "\n")}
		if c := bytes.TrimSuffix(cmdline, []byte{0}); len(c) > 0 {
			p.Cmdline = strings.Split(string(c), "\x00")
		}
		uid, _, err := realIDs(status)
		if err != nil {
			continue
		}
		p.UID = int32(uid)
		p.User = strconv.Itoa(int(uid))
		if u, err := user.LookupId(p.User); err == nil {
			p.User = u.Username
		}
		p.Zombie = bytes.Contains(status, []byte("\nState:\tZ"))
		ps = append(ps, p)
	}
	return ps
}

// waitFor polls cond until it holds, failing the test after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// startFakeDaemon starts a sleeping process titled as a God Daemon for home
// and returns it as Discover sees it; it is killed when the test ends.
func startFakeDaemon(t *testing.T, home string) Daemon {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	cmd := &exec.Cmd{Path: sleep, Args: []string{"PM2 v7.0.4: God Daemon (" + home + ")", "600"}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // the test's own child, by pid
		_ = cmd.Wait()
	})
	for _, d := range Discover(readProcs()) {
		if d.PID == int32(cmd.Process.Pid) {
			return d
		}
	}
	t.Fatalf("Discover did not see the titled process %d", cmd.Process.Pid)
	return Daemon{}
}

// exitedPID returns the pid of a child that has exited and been reaped.
func exitedPID(t *testing.T) int32 {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return int32(cmd.Process.Pid)
}

// listenUnix makes a socket file at path until the test ends.
func listenUnix(t *testing.T, path string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
}
