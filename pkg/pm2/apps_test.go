package pm2

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/source"
)

func appsByName(t *testing.T, apps []App) map[string]App {
	t.Helper()
	m := map[string]App{}
	for _, a := range apps {
		if _, dup := m[a.Name]; dup {
			t.Fatalf("app %q listed twice", a.Name)
		}
		m[a.Name] = a
	}
	return m
}

// parentOf reads a live process's parent pid.
func parentOf(pid int32) int32 {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(int(pid)), "status"))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PPid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return int32(n)
		}
	}
	return 0
}

// cmdlineOf reads a live process's argv as one string.
func cmdlineOf(pid int32) string {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(int(pid)), "cmdline"))
	return strings.ReplaceAll(string(b), "\x00", " ")
}

func TestAppsListsTheAppsOfARunningDaemon(t *testing.T) {
	b := newPM2Bed(t, -1, longHome)
	secret := fmt.Sprintf("xyz-%d", time.Now().UnixNano())
	b.start("api", "SECRET_TOKEN="+secret)
	b.start("worker")
	d := b.daemon()
	if title := cmdlineOf(d.PID); strings.Contains(title, ")") {
		t.Fatalf("title %q holds the whole home: the cut-title path is untested", title)
	}

	pidText, err := os.ReadFile(filepath.Join(b.home, "pm2.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if strconv.Itoa(int(d.PID)) != strings.TrimSpace(string(pidText)) {
		t.Errorf("Discover PID = %d, pm2.pid says %s", d.PID, pidText)
	}
	if d.UID != int32(os.Getuid()) || d.User == "" || !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(d.Version) {
		t.Errorf("Discover = %+v", d)
	}

	r := Runner{Timeout: time.Minute}
	apps, err := r.Apps(t.Context(), d)
	if err != nil {
		t.Fatalf("Apps: %v", err)
	}
	byName := appsByName(t, apps)
	if len(byName) != 2 {
		t.Fatalf("apps = %+v, want api and worker", apps)
	}
	for i, name := range []string{"api", "worker"} {
		a, ok := byName[name]
		if !ok {
			t.Fatalf("app %s missing from %+v", name, apps)
		}
		if a.Status != "online" || a.PMID != i || a.Restarts != 0 || a.Daemon != d {
			t.Errorf("%s: status %q, pm id %d, restarts %d, daemon %+v", name, a.Status, a.PMID, a.Restarts, a.Daemon)
		}
		if a.PID <= 0 || parentOf(a.PID) != d.PID {
			t.Errorf("%s: pid %d is not a child of the daemon %d", name, a.PID, d.PID)
		}
		if a.ExecPath != filepath.Join(b.dir, "app.js") || a.Cwd != b.dir || a.Interpreter != "node" {
			t.Errorf("%s: exec %q cwd %q interpreter %q", name, a.ExecPath, a.Cwd, a.Interpreter)
		}
		logs := filepath.Join(b.home, "logs")
		if a.OutLog != filepath.Join(logs, name+"-out.log") || a.ErrLog != filepath.Join(logs, name+"-error.log") {
			t.Errorf("%s: logs %q, %q", name, a.OutLog, a.ErrLog)
		}
		if a.PidFile != filepath.Join(b.home, "pids", fmt.Sprintf("%s-%d.pid", name, i)) {
			t.Errorf("%s: pid file %q", name, a.PidFile)
		}
		if a.UptimeSince.IsZero() || a.UptimeSince.After(time.Now().Add(time.Minute)) {
			t.Errorf("%s: UptimeSince %v", name, a.UptimeSince)
		}
	}

	// The secret is in what pm2 prints, and nowhere in what Apps returns.
	raw, err := b.pm2(nil, "jlist")
	if err != nil || !strings.Contains(raw, secret) {
		t.Fatalf("pm2 jlist does not carry the app's SECRET_TOKEN (err %v): the test proves nothing", err)
	}
	js, _ := json.Marshal(apps)
	if dump := fmt.Sprintf("%#v", apps) + string(js); strings.Contains(dump, secret) || strings.Contains(dump, "SECRET_TOKEN") {
		t.Fatalf("the app's environment leaked into App values: %s", dump)
	}
}

func TestRestartAndDeleteActOnTheNamedAppOnly(t *testing.T) {
	b := newPM2Bed(t, -1, shortHome)
	b.start("api")
	b.start("worker")
	d := b.daemon()
	r := Runner{Timeout: time.Minute}

	before, err := r.Apps(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	old := appsByName(t, before)

	if err := r.Restart(t.Context(), d, "api"); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	after, err := r.Apps(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	now := appsByName(t, after)
	if now["api"].Restarts != 1 || now["api"].PID == old["api"].PID {
		t.Errorf("api after restart: restarts %d pid %d (was %d)", now["api"].Restarts, now["api"].PID, old["api"].PID)
	}
	if now["worker"].Restarts != 0 || now["worker"].PID != old["worker"].PID {
		t.Errorf("worker was restarted too: %+v", now["worker"])
	}

	if err := r.Delete(t.Context(), d, "worker"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	left, err := r.Apps(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].Name != "api" {
		t.Fatalf("apps after Delete(worker) = %+v, want only api", left)
	}

	for _, name := range []string{"all", "/a/", "worker", ""} {
		if err := r.Delete(t.Context(), d, name); err == nil {
			t.Errorf("Delete(%q) succeeded; only an existing app name may be deleted", name)
		}
	}
	if left, _ := r.Apps(t.Context(), d); len(left) != 1 {
		t.Fatalf("apps after refused deletes = %+v", left)
	}
}

func TestAppsReadsADaemonOfAnotherUser(t *testing.T) {
	const uid = 54321
	b := newPM2Bed(t, uid, longHome)
	b.start("api")
	b.start("worker")
	d := b.daemon()
	if d.UID != uid || d.User != strconv.Itoa(uid) {
		t.Fatalf("Discover = %+v, want uid and user %d", d, uid)
	}

	apps, err := Runner{Timeout: time.Minute}.Apps(t.Context(), d)
	if err != nil {
		t.Fatalf("Apps: %v", err)
	}
	byName := appsByName(t, apps)
	for _, name := range []string{"api", "worker"} {
		if a := byName[name]; a.Status != "online" || a.PID <= 0 {
			t.Errorf("%s = %+v", name, a)
		}
	}

	// pm2 ran as the daemon's user: nothing in its home belongs to root.
	err = filepath.Walk(b.home, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != uid {
			return fmt.Errorf("%s is owned by uid %d", p, st.Uid)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAppsWithoutADaemonIsUnavailableAndStartsNone(t *testing.T) {
	b := newPM2Bed(t, -1, longHome) // pm2 installed; this home never gets a daemon
	home := b.home
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}

	// A node process that took a God Daemon's title for this home, and one
	// that also owns a socket named rpc.sock there: neither is a PM2 daemon.
	// (A title taken by another program is refused earlier: see
	// TestAppsRefusesATitledProcessWithAStaleRPCSocket.)
	fake := startNodeDaemon(t, home)
	dead := exitedPID(t)

	cases := []struct {
		name string
		d    Daemon
		sock bool
	}{
		{"pid gone", Daemon{PID: dead, Home: home}, false},
		{"pid is not a daemon", Daemon{PID: int32(os.Getpid()), Home: home}, false},
		{"title but no rpc.sock", fake, false},
		{"title and rpc.sock but no pm2.pid", fake, true},
		{"daemon of another home", Daemon{PID: fake.PID, UID: fake.UID, Home: home + "-other"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.sock {
				listenUnix(t, filepath.Join(home, "rpc.sock"))
			}
			_, err := Runner{Timeout: 20 * time.Second}.Apps(t.Context(), tc.d)
			reason, ok := source.IsUnavailable(err)
			if !ok || !strings.Contains(reason, "no PM2 daemon running for") {
				t.Fatalf("Apps error = %v, want unavailable", err)
			}
			for _, h := range []string{home, home + "-other"} {
				for _, d := range daemonsFor(h) {
					if d.PID != fake.PID {
						t.Fatalf("a daemon was started: %+v", d)
					}
				}
			}
			for _, f := range []string{"pm2.pid", "pm2.log", "pub.sock"} {
				if _, err := os.Lstat(filepath.Join(home, f)); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("%s appeared in %s: pm2 ran", f, home)
				}
			}
			if !tc.sock {
				if _, err := os.Lstat(filepath.Join(home, "rpc.sock")); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("rpc.sock appeared in %s", home)
				}
			}
		})
	}
}
