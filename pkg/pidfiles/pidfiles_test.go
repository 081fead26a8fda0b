package pidfiles

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// processes snapshots the real process list from /proc, as the caller builds
// the alive lookup from its own process list.
func processes(t *testing.T) map[int32]bool {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	m := map[int32]bool{}
	for _, e := range entries {
		if n, err := strconv.ParseInt(e.Name(), 10, 32); err == nil {
			m[int32(n)] = true
		}
	}
	return m
}

// deadPID returns the pid of a real process that has exited and been reaped.
func deadPID(t *testing.T) int32 {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return int32(cmd.ProcessState.Pid())
}

type tree struct {
	dir  string
	root *os.Root
	dead int32
	self int32
}

func newTree(t *testing.T) tree {
	t.Helper()
	tr := tree{dir: t.TempDir(), dead: deadPID(t), self: int32(os.Getpid())}
	old := time.Now().Add(-10 * time.Minute)
	files := map[string]string{
		"run/live.pid":              fmt.Sprintf("%d\n", tr.self),
		"run/stale.pid":             fmt.Sprintf("%d\n", tr.dead),
		"run/nopid.lock":            "",
		"run/dead.lock":             fmt.Sprintf("  %d  \nsecond line\n", tr.dead),
		"run/garbage.pid":           "hello\n",
		"run/sub/deep.pid":          fmt.Sprintf("%d", tr.dead),
		"run/sub/sub2/deeper.pid":   fmt.Sprintf("%d", tr.dead),
		"run/other.txt":             fmt.Sprintf("%d", tr.dead),
		"tmp/app.pid":               fmt.Sprintf("%d\n", tr.dead),
		"proc/fake.pid":             fmt.Sprintf("%d\n", tr.dead),
		"run/dir.pid/inside.txt":    "x",
		"run/young.pid":             fmt.Sprintf("%d\n", tr.dead), // mtime set to now below
		"tmp/sub/sub2/too-deep.pid": fmt.Sprintf("%d\n", tr.dead),
	}
	for rel, content := range files {
		p := filepath.Join(tr.dir, rel)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o644))
		must(t, os.Chtimes(p, old, old))
	}
	now := time.Now()
	must(t, os.Chtimes(filepath.Join(tr.dir, "run/young.pid"), now, now))
	must(t, os.Symlink("/etc/passwd", filepath.Join(tr.dir, "run/x.pid")))
	must(t, os.MkdirAll(filepath.Join(tr.dir, "var"), 0o755))
	must(t, os.Symlink("/run", filepath.Join(tr.dir, "var/run")))

	root, err := os.OpenRoot(tr.dir)
	must(t, err)
	t.Cleanup(func() { root.Close() })
	tr.root = root
	return tr
}

func (tr tree) scan(t *testing.T, alive func(int32) bool) map[string]File {
	t.Helper()
	files, err := Scan(t.Context(), tr.root, []string{"/run", "/var/run", "/tmp", "/proc"}, alive)
	must(t, err)
	got := map[string]File{}
	for _, f := range files {
		if _, dup := got[f.Path]; dup {
			t.Errorf("%s listed twice", f.Path)
		}
		got[f.Path] = f
	}
	return got
}

func TestScan(t *testing.T) {
	tr := newTree(t)
	procs := processes(t)
	if procs[tr.dead] || !procs[tr.self] {
		t.Fatalf("process list: self %d alive %v, exited %d alive %v", tr.self, procs[tr.self], tr.dead, procs[tr.dead])
	}
	got := tr.scan(t, func(pid int32) bool { return procs[pid] })

	tests := []struct {
		path   string
		pid    int32
		stale  bool
		reason string
	}{
		{"/run/live.pid", tr.self, false, fmt.Sprintf("pid %d is alive", tr.self)},
		{"/run/stale.pid", tr.dead, true, fmt.Sprintf("no process with pid %d", tr.dead)},
		{"/run/young.pid", tr.dead, false, "younger than a minute"},
		{"/run/nopid.lock", 0, false, "lock file holds no pid: its owner cannot be known"},
		{"/run/dead.lock", tr.dead, true, "no process with pid"},
		{"/run/garbage.pid", 0, false, "holds no pid"},
		{"/run/sub/deep.pid", tr.dead, true, "no process with pid"},
		{"/tmp/app.pid", tr.dead, true, "no process with pid"},
	}
	for _, tt := range tests {
		f, ok := got[tt.path]
		if !ok {
			t.Errorf("%s not listed", tt.path)
			continue
		}
		if f.PID != tt.pid || f.Stale != tt.stale || !strings.HasPrefix(f.Reason, tt.reason) {
			t.Errorf("%s: PID %d Stale %v Reason %q; want %d %v %q", tt.path, f.PID, f.Stale, f.Reason,
				tt.pid, tt.stale, tt.reason)
		}
	}
	if len(got) != len(tests) {
		t.Errorf("listed %d files, want %d (no symlink, directory, other name, /proc or depth 3): %v",
			len(got), len(tests), got)
	}
	if f := got["/tmp/app.pid"]; f.Bytes != int64(len(fmt.Sprintf("%d\n", tr.dead))) {
		t.Errorf("/tmp/app.pid Bytes = %d", f.Bytes)
	}
}

func TestRemove(t *testing.T) {
	tr := newTree(t)
	procs := processes(t)
	scanned := tr.scan(t, func(pid int32) bool { return procs[pid] })
	var files []File
	for _, f := range scanned {
		files = append(files, f)
	}

	// After Scan: one file gets other content (same inode, same mtime), one
	// is replaced by a symlink to /etc/passwd, and a forged entry names a
	// symlink Scan never listed.
	app := filepath.Join(tr.dir, "tmp/app.pid")
	before, err := os.Stat(app)
	must(t, err)
	must(t, os.WriteFile(app, []byte(fmt.Sprintf("%d\n", tr.dead+1)), 0o644))
	must(t, os.Chtimes(app, before.ModTime(), before.ModTime()))
	deep := filepath.Join(tr.dir, "run/sub/deep.pid")
	must(t, os.Remove(deep))
	must(t, os.Symlink("/etc/passwd", deep))
	files = append(files, File{Path: "/run/x.pid", PID: tr.dead, Stale: true, Reason: "forged"})

	removed, errs := Remove(tr.root, files)

	var paths []string
	for _, f := range removed {
		paths = append(paths, f.Path)
	}
	if fmt.Sprint(slices.Sorted(slices.Values(paths))) != "[/run/dead.lock /run/stale.pid]" {
		t.Errorf("removed %v, want only the unchanged stale files", paths)
	}
	for _, rel := range []string{"run/stale.pid", "run/dead.lock"} {
		if _, err := os.Lstat(filepath.Join(tr.dir, rel)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still exists: %v", rel, err)
		}
	}
	for _, rel := range []string{"run/live.pid", "run/young.pid", "run/nopid.lock", "run/garbage.pid",
		"tmp/app.pid", "run/sub/deep.pid", "run/x.pid"} {
		if _, err := os.Lstat(filepath.Join(tr.dir, rel)); err != nil {
			t.Errorf("%s was removed: %v", rel, err)
		}
	}
	if target, err := os.Readlink(filepath.Join(tr.dir, "run/x.pid")); err != nil || target != "/etc/passwd" {
		t.Errorf("run/x.pid -> %q, %v", target, err)
	}

	if len(errs) != len(files)-2 {
		t.Errorf("got %d errors, want %d: %v", len(errs), len(files)-2, errs)
	}
	var changed, notStale, forged, notRegular int
	for _, err := range errs {
		msg := err.Error()
		switch {
		case errors.Is(err, ErrChanged) && strings.Contains(msg, "/tmp/app.pid content"):
			changed++
		case strings.Contains(msg, "is not stale"):
			notStale++
		case strings.Contains(msg, "/run/x.pid did not come from Scan"):
			forged++
		case strings.Contains(msg, "/run/sub/deep.pid") && strings.Contains(msg, "not a regular file"):
			notRegular++
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	if changed != 1 || notStale != 4 || forged != 1 || notRegular != 1 {
		t.Errorf("errors: changed %d not-stale %d forged %d not-regular %d; want 1 4 1 1: %v",
			changed, notStale, forged, notRegular, errs)
	}
}

func TestRemoveRefusesWhenPidCameAlive(t *testing.T) {
	tr := newTree(t)
	alive := map[int32]bool{}
	f, ok := tr.scan(t, func(pid int32) bool { return alive[pid] })["/run/stale.pid"]
	if !ok || !f.Stale {
		t.Fatalf("/run/stale.pid not stale: %+v", f)
	}
	alive[tr.dead] = true
	removed, errs := Remove(tr.root, []File{f})
	if len(removed) != 0 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "is alive now") {
		t.Fatalf("Remove = %v, %v; want a refusal because the pid is alive", removed, errs)
	}
	if _, err := os.Lstat(filepath.Join(tr.dir, "run/stale.pid")); err != nil {
		t.Fatal(err)
	}
}

func TestScanEndsWithContext(t *testing.T) {
	tr := newTree(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Scan(ctx, tr.root, []string{"/run"}, func(int32) bool { return false }); err == nil {
		t.Fatal("Scan with an ended context returned no error")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
