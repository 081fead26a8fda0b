package e2e

import (
	"bufio"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// watch is an arcanosctl purge running in the background, its JSON lines
// read as they come.
type watch struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr lockedBuffer
	done   chan struct{}

	mu    sync.Mutex
	lines []string
}

// startPurge starts arcanosctl purge -o json and returns at once; the
// process is stopped in t.Cleanup if it still runs.
func (c *controller) startPurge(args ...string) *watch {
	t := c.t
	t.Helper()
	full := append(append(c.prefix(), bin.ctl, "purge"), args...)
	full = append(full, "-o", "json")
	w := &watch{t: t, done: make(chan struct{})}
	w.cmd = exec.Command(full[0], full[1:]...)
	w.cmd.Env = append(baseEnv(), "ARCANOS_CONFIG="+c.ctlConfig())
	w.cmd.Stderr = &w.stderr
	out, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("arcanosctl stdout: %v", err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatalf("start arcanosctl purge: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			w.mu.Lock()
			w.lines = append(w.lines, sc.Text())
			w.mu.Unlock()
		}
		_ = w.cmd.Wait()
		close(w.done)
	}()
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			_ = w.cmd.Process.Signal(syscall.SIGTERM)
			<-w.done
		}
	})
	return w
}

// events returns the events printed so far.
func (w *watch) events() []*arcanosv1.PurgeEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	var evs []*arcanosv1.PurgeEvent
	for _, l := range w.lines {
		ev := &arcanosv1.PurgeEvent{}
		if err := protojson.Unmarshal([]byte(l), ev); err != nil {
			w.t.Fatalf("event line is not a PurgeEvent: %v\n%s", err, cut(l, 500))
		}
		evs = append(evs, ev)
	}
	return evs
}

// waitRunID waits for the first event and returns the run id it names.
func (w *watch) waitRunID(d time.Duration) string {
	w.t.Helper()
	var id string
	ok := poll(d, func() bool {
		if evs := w.events(); len(evs) > 0 {
			id = evs[0].GetRunId()
		}
		return id != ""
	})
	if !ok {
		w.t.Fatalf("arcanosctl purge printed no event in %s; stderr:\n%s", d, w.stderr.String())
	}
	return id
}

// wait waits up to d for arcanosctl to end and returns its exit code and
// every event it printed.
func (w *watch) wait(d time.Duration) (int, []*arcanosv1.PurgeEvent) {
	w.t.Helper()
	select {
	case <-w.done:
	case <-time.After(d):
		w.t.Fatalf("arcanosctl purge still runs after %s", d)
	}
	return w.cmd.ProcessState.ExitCode(), w.events()
}

// lockedBuffer is an output buffer safe to read while a process writes it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
