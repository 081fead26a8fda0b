package procs

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Sentinel errors of Guard and Signal; returned errors wrap them with detail.
var (
	// ErrGone says the process has exited (reaped or a zombie).
	ErrGone = errors.New("process is gone")
	// ErrIdentityChanged says the pid now belongs to another process than the
	// one listed: its start time differs.
	ErrIdentityChanged = errors.New("pid belongs to another process now")
	// ErrRefused says Guard does not allow signalling the process at all.
	ErrRefused = errors.New("refused to signal")
)

// maxAncestors bounds the walk up the agent's parents, in case /proc lies.
const maxAncestors = 4096

// pidfdOpen is unix.PidfdOpen; tests replace it to exercise the fallback.
var pidfdOpen = unix.PidfdOpen

// Guard says whether p may be signalled at all. It refuses, with ErrRefused
// and the reason: pid 1 and below, pid 2 when it is kthreadd, the agent
// itself, any ancestor of the agent, kernel threads and zombies.
func Guard(p Process) error {
	switch {
	case p.PID <= 1:
		return refuse(p, "pid 1 or lower")
	case p.PID == 2 && isKthreadd():
		return refuse(p, "pid 2 (kthreadd)")
	case int(p.PID) == os.Getpid():
		return refuse(p, "the agent itself")
	case p.KernelThread:
		return refuse(p, "kernel thread")
	case p.Zombie:
		return refuse(p, fmt.Sprintf("zombie, parent PID %d", p.PPID))
	}

	pid := int32(os.Getppid())
	for range maxAncestors {
		if pid <= 0 {
			break
		}
		if pid == p.PID {
			return refuse(p, "an ancestor of the agent")
		}
		st, err := readStat(pid)
		if err != nil {
			break
		}
		pid = st.ppid
	}
	return nil
}

// isKthreadd reports whether pid 2 is the kernel's kthreadd, as it is in
// the initial PID namespace; inside another one pid 2 is an ordinary
// process. It reads /proc/2/stat afresh, whatever the listing said, and
// counts pid 2 as kthreadd unless its flags say it is not a kernel thread.
func isKthreadd() bool {
	st, err := readStat(2)
	return err != nil || st.flags&pfKthread != 0
}

func refuse(p Process, why string) error {
	return fmt.Errorf("%w pid %d (%s): %s", ErrRefused, p.PID, p.Comm, why)
}

// Signal sends sig to p if, and only if, p.PID still names the process that
// was listed. It opens a pidfd, which pins the process, then checks that the
// start time in /proc/PID/stat still equals p.StartTicks, then signals
// through the pidfd. It returns ErrGone when the process has exited and
// ErrIdentityChanged when the pid was reused. Signal does not call Guard.
func Signal(p Process, sig syscall.Signal) error {
	t, err := openTarget(p)
	if err != nil {
		return err
	}
	defer t.close()
	// audit: sends sig to the listed process only; send re-checks its identity.
	return t.send(sig)
}

// target is one process pinned for signalling.
type target struct {
	p     Process
	pidfd int // -1 when the kernel has no pidfd_open
}

// openTarget pins p with a pidfd and checks its identity.
func openTarget(p Process) (*target, error) {
	fd, err := pidfdOpen(int(p.PID), 0)
	switch {
	case err == nil:
	case errors.Is(err, unix.ESRCH):
		return nil, fmt.Errorf("pid %d (%s): %w", p.PID, p.Comm, ErrGone)
	case errors.Is(err, unix.ENOSYS):
		// LIMITATION: without pidfd_open (Linux < 5.3) the pid is only
		// rechecked before kill(2): a process that exits and whose pid is
		// reused between that check and the kill gets the signal.
		fd = -1
	default:
		return nil, fmt.Errorf("pidfd_open pid %d (%s): %w", p.PID, p.Comm, err)
	}

	t := &target{p: p, pidfd: fd}
	if err := t.check(); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

func (t *target) close() {
	if t.pidfd >= 0 {
		unix.Close(t.pidfd)
		t.pidfd = -1
	}
}

// check compares the live start time of the pid with the listed one. With a
// pidfd open, a match proves the pidfd refers to the listed process.
func (t *target) check() error {
	st, err := readStat(t.p.PID)
	if exited(err) {
		return fmt.Errorf("pid %d (%s): %w", t.p.PID, t.p.Comm, ErrGone)
	}
	if err != nil {
		return fmt.Errorf("check pid %d (%s): %w", t.p.PID, t.p.Comm, err)
	}
	if st.start != t.p.StartTicks {
		return fmt.Errorf("pid %d (%s) started at tick %d, now %q started at tick %d: %w",
			t.p.PID, t.p.Comm, t.p.StartTicks, st.comm, st.start, ErrIdentityChanged)
	}
	if st.state == 'Z' {
		return fmt.Errorf("pid %d (%s) is a zombie, parent PID %d: %w",
			t.p.PID, t.p.Comm, st.ppid, ErrGone)
	}
	return nil
}

// send checks identity once more and delivers sig.
func (t *target) send(sig syscall.Signal) error {
	if err := t.check(); err != nil {
		return err
	}

	var err error
	if t.pidfd >= 0 {
		// audit: delivers sig to the one process pinned by the pidfd; allowed
		// because check() just matched its start time to the listed process.
		err = unix.PidfdSendSignal(t.pidfd, sig, nil, 0)
	} else {
		// audit: delivers sig to a pid whose start time check() just matched
		// to the listed process (fallback without pidfd, see openTarget).
		err = unix.Kill(int(t.p.PID), sig)
	}
	if errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("pid %d (%s): %w", t.p.PID, t.p.Comm, ErrGone)
	}
	if err != nil {
		return fmt.Errorf("send %s to pid %d (%s): %w", unix.SignalName(sig), t.p.PID, t.p.Comm, err)
	}
	return nil
}

// readStat reads the stat fields of one live pid from procRoot.
func readStat(pid int32) (statFields, error) {
	b, err := os.ReadFile(procRoot + "/" + strconv.FormatInt(int64(pid), 10) + "/stat")
	if err != nil {
		return statFields{}, err
	}
	return parseStat(b)
}
