package pm2

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/testbed"
)

func sizeOf(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestFlushTruncatesTheAppLogsAndRefusesASymlink(t *testing.T) {
	b := newPM2Bed(t, -1, shortHome)
	b.start("api")
	b.start("worker")
	apps, err := Runner{Timeout: time.Minute}.Apps(t.Context(), b.daemon())
	if err != nil {
		t.Fatal(err)
	}
	byName := appsByName(t, apps)
	api, worker := byName["api"], byName["worker"]
	logs := []string{api.OutLog, api.ErrLog, worker.OutLog, worker.ErrLog}
	for _, p := range logs {
		waitFor(t, p+" to hold the app's line", func() bool {
			fi, err := os.Stat(p)
			return err == nil && fi.Size() > 0
		})
	}
	daemonLog := filepath.Join(b.home, "pm2.log")
	daemonLogSize := sizeOf(t, daemonLog)

	plan := FlushPlan(apps)
	var planned []string
	for _, lf := range plan {
		planned = append(planned, lf.Path)
		if lf.Bytes <= 0 {
			t.Errorf("%s planned with %d bytes", lf.Path, lf.Bytes)
		}
	}
	slices.Sort(planned)
	want := slices.Clone(logs)
	slices.Sort(want)
	if !slices.Equal(planned, want) {
		t.Fatalf("FlushPlan = %q\nwant        %q", planned, want)
	}

	// After planning, worker's out log is swapped for a symlink to a file
	// that must survive.
	victim := filepath.Join(b.dir, "precious")
	if err := os.WriteFile(victim, []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(worker.OutLog); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, worker.OutLog); err != nil {
		t.Fatal(err)
	}

	done, errs := Flush(plan)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), worker.OutLog) {
		t.Fatalf("Flush errors = %v, want one for %s", errs, worker.OutLog)
	}
	var flushed []string
	for _, lf := range done {
		flushed = append(flushed, lf.Path)
		if lf.Bytes <= 0 {
			t.Errorf("%s flushed with %d bytes reported", lf.Path, lf.Bytes)
		}
	}
	slices.Sort(flushed)
	wantFlushed := []string{api.ErrLog, api.OutLog, worker.ErrLog}
	slices.Sort(wantFlushed)
	if !slices.Equal(flushed, wantFlushed) {
		t.Fatalf("Flush truncated %q, want %q", flushed, wantFlushed)
	}
	for _, p := range wantFlushed {
		if n := sizeOf(t, p); n != 0 {
			t.Errorf("%s holds %d bytes after Flush", p, n)
		}
	}
	if got, _ := os.ReadFile(victim); string(got) != "keep me\n" {
		t.Errorf("symlink target changed to %q", got)
	}
	if n := sizeOf(t, daemonLog); n < daemonLogSize {
		t.Errorf("pm2.log shrank from %d to %d: not an app log", daemonLogSize, n)
	}

	for _, lf := range FlushPlan(apps) {
		if lf.Path == worker.OutLog {
			t.Errorf("FlushPlan lists %s, now a symlink", lf.Path)
		}
	}
}

func TestFlushPlanKeepsOnlyRegularFilesOfTheDaemonUser(t *testing.T) {
	testbed.RequireRoot(t)
	dir := t.TempDir()
	write := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("log line\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	own := write("own.log")
	foreign := write("foreign.log")
	if err := os.Chown(foreign, 54321, 54321); err != nil {
		t.Fatal(err)
	}
	linked := write("linked.log")
	if err := os.Link(linked, filepath.Join(dir, "second-name.log")); err != nil {
		t.Fatal(err)
	}
	symlink := filepath.Join(dir, "symlink.log")
	if err := os.Symlink(own, symlink); err != nil {
		t.Fatal(err)
	}

	d := Daemon{UID: 0}
	cases := []struct {
		name string
		app  App
		want []string
	}{
		{"own regular files", App{OutLog: own, ErrLog: own}, []string{own}},
		{"file of another user", App{OutLog: foreign}, nil},
		{"hard-linked file", App{OutLog: linked}, nil},
		{"symlink", App{OutLog: symlink}, nil},
		{"device", App{OutLog: "/dev/null", ErrLog: "/dev/null"}, nil},
		{"relative path", App{OutLog: "own.log"}, nil},
		{"missing file", App{CombinedLog: filepath.Join(dir, "absent.log")}, nil},
		{"combined log", App{CombinedLog: own}, []string{own}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.app.Name, tc.app.Daemon = "api", d
			var got []string
			for _, lf := range FlushPlan([]App{tc.app}) {
				got = append(got, lf.Path)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("FlushPlan = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFlushRefusesAFileReplacedSincePlanned(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "api-out.log")
	if err := os.WriteFile(p, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	plan := FlushPlan([]App{{Name: "api", OutLog: p, Daemon: Daemon{UID: int32(os.Getuid())}}})
	if len(plan) != 1 {
		t.Fatalf("plan = %+v", plan)
	}

	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("new file, same name\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, p); err != nil {
		t.Fatal(err)
	}

	done, errs := Flush(append(plan, LogFile{App: "api", Path: p}))
	if len(done) != 0 || len(errs) != 2 {
		t.Fatalf("Flush = %+v, %v; want both refused", done, errs)
	}
	if got, _ := os.ReadFile(p); string(got) != "new file, same name\n" {
		t.Fatalf("replaced file truncated: %q", got)
	}
}
