package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stopWait bounds how long a process may take to stop after SIGTERM before
// it is killed.
const stopWait = 15 * time.Second

// proc is one process a test started. Only this process (or, for an agent,
// the pid 1 of the PID namespace this process made) is ever signalled, by
// its pid, through a pidfd-backed os.Process so that a reused pid is never
// hit.
type proc struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	// target is what stop and kill signal: the command itself, or the agent
	// running as pid 1 of the PID namespace unshare made.
	target *os.Process
	done   chan struct{}
	err    error
}

// startProc starts args[0] with args[1:], its output appended to logPath,
// and stops it in t.Cleanup (SIGTERM, then SIGKILL). On a failed test the
// end of its log is printed.
func startProc(t *testing.T, name, logPath string, env []string, args ...string) *proc {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("%s log: %v", name, err)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(baseEnv(), env...)
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, logPath: logPath, cmd: cmd, target: cmd.Process, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("--- log of %s (%s):\n%s", name, logPath, tail(logPath, 40))
		}
	})
	return p
}

// startInPIDNamespace starts args in a new PID namespace with its own /proc
// (unshare --pid --fork --mount-proc --kill-child): args[0] becomes pid 1
// there and is the process stop and kill signal. prefix, if any, comes
// before unshare (ip netns exec NS).
func startInPIDNamespace(t *testing.T, name, logPath string, env, prefix []string, args ...string) *proc {
	t.Helper()
	full := append(append([]string{}, prefix...),
		"unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "--")
	full = append(full, args...)
	p := startProc(t, name, logPath, env, full...)

	deadline := time.Now().Add(30 * time.Second)
	for {
		if child, ok := childOf(p.cmd.Process.Pid); ok {
			p.target = child
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited before its namespace started: %v\n%s", name, p.err, tail(logPath, 20))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no process in its PID namespace after 30s", name)
		}
	}
}

// childOf returns the only child of pid, opened as an os.Process (a pidfd)
// and checked to still be pid's child after opening.
func childOf(pid int) (*os.Process, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil, false
	}
	fields := strings.Fields(string(data))
	if len(fields) != 1 {
		return nil, false
	}
	child, err := strconv.Atoi(fields[0])
	if err != nil {
		return nil, false
	}
	p, err := os.FindProcess(child)
	if err != nil {
		return nil, false
	}
	if ppid, ok := parentOf(child); !ok || ppid != pid {
		p.Release()
		return nil, false
	}
	return p, true
}

func parentOf(pid int) (int, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name may hold spaces and parentheses: fields start after
	// the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the target unless the process already ended.
func (p *proc) signal(sig syscall.Signal) {
	if p.exited() {
		return
	}
	// os.ErrProcessDone: the namespace's pid 1 is gone while unshare exits.
	_ = p.target.Signal(sig)
}

// wait waits up to d for the process to end.
func (p *proc) wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// stop ends the process: SIGTERM, then SIGKILL after stopWait.
func (p *proc) stop(t *testing.T) {
	if p.exited() {
		return
	}
	p.signal(syscall.SIGTERM)
	if p.wait(stopWait) {
		return
	}
	t.Logf("%s did not stop within %s of SIGTERM; killing it", p.name, stopWait)
	p.signal(syscall.SIGKILL)
	if p.target != p.cmd.Process && !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	if !p.wait(stopWait) {
		t.Errorf("%s (pid %d) still runs after SIGKILL", p.name, p.cmd.Process.Pid)
	}
}

// kill ends the process with SIGKILL at once and waits for it.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	p.signal(syscall.SIGKILL)
	if !p.wait(30 * time.Second) {
		t.Fatalf("%s (pid %d) still runs 30s after SIGKILL", p.name, p.cmd.Process.Pid)
	}
}

// log returns what the process wrote so far.
func (p *proc) log() string {
	data, _ := os.ReadFile(p.logPath)
	return string(data)
}

// tail returns the last n lines of a file, each cut to 400 characters.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if len(l) > 400 {
			lines[i] = l[:400] + "…"
		}
	}
	return strings.Join(lines, "\n")
}

// baseEnv is this process's environment without the variables the three
// programs read settings from (ARCANOS_*, DOCKER_HOST), so that only what a
// test says reaches them.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ARCANOS_") || strings.HasPrefix(kv, "DOCKER_HOST=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}
