package procs

import (
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestGuardRefusesAgentAndAncestors calls Guard on the host, which only reads
// /proc: no signal is sent.
func TestGuardRefusesAgentAndAncestors(t *testing.T) {
	parent, err := readStat(int32(os.Getppid()))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		p    Process
		why  string
	}{
		{"pid 0", Process{PID: 0}, "pid 1 or lower"},
		{"init", Process{PID: 1}, "pid 1 or lower"},
		{"kthreadd", Process{PID: 2}, "pid 2 (kthreadd)"},
		{"the agent", Process{PID: int32(os.Getpid())}, "the agent itself"},
		{"parent", Process{PID: int32(os.Getppid())}, "an ancestor of the agent"},
		{"grandparent", Process{PID: parent.ppid}, "an ancestor of the agent"},
		{"kernel thread", Process{PID: 1 << 30, KernelThread: true}, "kernel thread"},
		{"zombie", Process{PID: 1 << 30, PPID: 77, Zombie: true}, "zombie, parent PID 77"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "grandparent" && c.p.PID <= 1 {
				t.Skip("the test's parent is a child of init")
			}
			err := Guard(c.p)
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.why) {
				t.Errorf("Guard = %v, want ErrRefused with %q", err, c.why)
			}
		})
	}

	if err := Guard(Process{PID: 1 << 30}); err != nil {
		t.Errorf("Guard(unrelated pid) = %v, want nil", err)
	}
}

func TestSignalRefusesChangedIdentity(t *testing.T) {
	if !inNamespace(t) {
		return
	}
	cmd := startSleep(t, sleepPath(t))
	p := find(t, cmd.Process.Pid, ListOptions{})

	other := p
	other.StartTicks++
	if err := Signal(other, syscall.SIGTERM); !errors.Is(err, ErrIdentityChanged) {
		t.Fatalf("Signal with other start ticks = %v, want ErrIdentityChanged", err)
	}
	if q := find(t, cmd.Process.Pid, ListOptions{}); q.Zombie {
		t.Fatal("the process was signalled despite the identity mismatch")
	}

	if err := Signal(p, syscall.SIGTERM); err != nil {
		t.Fatalf("Signal with matching identity: %v", err)
	}
	_ = cmd.Wait()
	if sig := signalOf(cmd); sig != syscall.SIGTERM {
		t.Errorf("process ended by %v, want SIGTERM", sig)
	}
}

func TestSignalReportsGoneProcess(t *testing.T) {
	if !inNamespace(t) {
		return
	}
	reaped := startSleep(t, sleepPath(t))
	zombie := startSleep(t, sleepPath(t))
	pr := find(t, reaped.Process.Pid, ListOptions{})
	pz := find(t, zombie.Process.Pid, ListOptions{})

	// audit: the test ends its own children inside its PID namespace.
	_ = reaped.Process.Kill()
	_ = reaped.Wait()
	// audit: as above; this one is left unreaped, a zombie.
	_ = zombie.Process.Signal(syscall.SIGKILL)
	waitExitNoReap(t, zombie.Process.Pid)

	if err := Signal(pr, syscall.SIGTERM); !errors.Is(err, ErrGone) {
		t.Errorf("Signal(reaped) = %v, want ErrGone", err)
	}
	if err := Signal(pz, syscall.SIGTERM); !errors.Is(err, ErrGone) {
		t.Errorf("Signal(zombie) = %v, want ErrGone", err)
	}
}

func TestSignalFallbackWithoutPidfd(t *testing.T) {
	if !inNamespace(t) {
		return
	}
	pidfdOpen = func(int, int) (int, error) { return -1, unix.ENOSYS }
	t.Cleanup(func() { pidfdOpen = unix.PidfdOpen })

	cmd := startSleep(t, sleepPath(t))
	p := find(t, cmd.Process.Pid, ListOptions{})
	other := p
	other.StartTicks--
	if err := Signal(other, syscall.SIGTERM); !errors.Is(err, ErrIdentityChanged) {
		t.Fatalf("fallback Signal with other start ticks = %v, want ErrIdentityChanged", err)
	}

	out, err := Terminate(t.Context(), p, time.Minute)
	if err != nil {
		t.Fatalf("fallback Terminate: %v", err)
	}
	if !out.Exited || !slices.Equal(out.Signals, []string{"SIGTERM"}) {
		t.Fatalf("Outcome = %+v, want SIGTERM only and exited", out)
	}
	_ = cmd.Wait()
	if sig := signalOf(cmd); sig != syscall.SIGTERM {
		t.Errorf("process ended by %v, want SIGTERM", sig)
	}
}

func TestTerminateStopsWithSIGTERM(t *testing.T) {
	if !inNamespace(t) {
		return
	}
	cmd := startSleep(t, sleepPath(t))
	p := find(t, cmd.Process.Pid, ListOptions{})

	out, err := Terminate(t.Context(), p, time.Minute)
	if err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	if !out.Exited || !slices.Equal(out.Signals, []string{"SIGTERM"}) {
		t.Fatalf("Outcome = %+v, want SIGTERM only and exited", out)
	}
	_ = cmd.Wait()
	if sig := signalOf(cmd); sig != syscall.SIGTERM {
		t.Errorf("process ended by %v, want SIGTERM", sig)
	}
}

func TestTerminateEscalatesToSIGKILL(t *testing.T) {
	if !inNamespace(t) {
		return
	}
	cmd, _ := startHelper(t, "ignore-term")
	p := find(t, cmd.Process.Pid, ListOptions{})

	out, err := Terminate(t.Context(), p, 200*time.Millisecond)
	if err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	if !out.Exited || !slices.Equal(out.Signals, []string{"SIGTERM", "SIGKILL"}) {
		t.Fatalf("Outcome = %+v, want SIGTERM then SIGKILL and exited", out)
	}
	if !strings.Contains(out.Detail, "killed after ignoring SIGTERM") {
		t.Errorf("Detail = %q", out.Detail)
	}
	_ = cmd.Wait()
	if sig := signalOf(cmd); sig != syscall.SIGKILL {
		t.Errorf("process ended by %v, want SIGKILL", sig)
	}
}

func TestTerminateRefusesGuardedProcesses(t *testing.T) {
	if !inNamespace(t) {
		return
	}
	self := find(t, os.Getpid(), ListOptions{})
	if _, err := Terminate(t.Context(), self, time.Second); !errors.Is(err, ErrRefused) {
		t.Errorf("Terminate(pid 1, the agent) = %v, want ErrRefused", err)
	}

	cmd := startCmd(t, exec.Command(sleepPath(t), "0"))
	waitExitNoReap(t, cmd.Process.Pid)
	z := find(t, cmd.Process.Pid, ListOptions{})
	out, err := Terminate(t.Context(), z, time.Second)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "zombie") || out.Signals != nil {
		t.Errorf("Terminate(zombie) = %+v, %v; want ErrRefused and no signal", out, err)
	}
}

// Inside a PID namespace pid 2 is not kthreadd (which lives in the initial
// namespace only): Guard must not refuse it as kthreadd. Here pid 2 is one
// of the test binary's own threads (threads take ids from the same space),
// so only the reason is checked, never a signal.
func TestGuardKnowsPid2IsNotKthreaddInsideAPIDNamespace(t *testing.T) {
	if !inNamespace(t) {
		return
	}
	if isKthreadd() {
		t.Fatal("isKthreadd() inside a PID namespace, want false")
	}
	if err := Guard(Process{PID: 2, Comm: "worker"}); err != nil && strings.Contains(err.Error(), "kthreadd") {
		t.Fatalf("Guard(pid 2 of the namespace) = %v, want no kthreadd refusal", err)
	}
}
