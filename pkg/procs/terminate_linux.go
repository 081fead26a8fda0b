package procs

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// killWait bounds how long Terminate waits for a process to go after SIGKILL;
// a process in uninterruptible sleep can outlast it.
const killWait = 5 * time.Second

// pollSlice is the longest single wait, so that ctx is checked that often.
const pollSlice = 100 * time.Millisecond

// Outcome is what Terminate did to a process and how it ended.
type Outcome struct {
	Signals []string // signals sent, in order: "SIGTERM", then maybe "SIGKILL"
	Exited  bool     // the process exited (a zombie waiting for its parent counts)
	Detail  string
}

// Terminate stops p: Guard, then SIGTERM, then up to grace for it to exit,
// then SIGKILL. Every signal is identity-checked as in Signal. A process that
// is gone before the first signal gives Outcome.Exited and an error wrapping
// ErrGone. When ctx ends during the grace period, Terminate stops waiting and
// does not escalate to SIGKILL.
func Terminate(ctx context.Context, p Process, grace time.Duration) (Outcome, error) {
	var out Outcome
	if err := Guard(p); err != nil {
		return out, err
	}

	t, err := openTarget(p)
	if errors.Is(err, ErrGone) {
		out.Exited, out.Detail = true, "gone before SIGTERM"
		return out, err
	}
	if err != nil {
		return out, err
	}
	defer t.close()

	// audit: SIGTERM to the process Guard allowed, identity-checked in send.
	if done, err := t.step(&out, syscall.SIGTERM, "exited before SIGTERM"); done {
		return out, err
	}
	exited, err := t.wait(ctx, grace)
	if err != nil {
		out.Detail = "stopped waiting after SIGTERM"
		return out, err
	}
	if exited {
		out.Exited, out.Detail = true, "exited after SIGTERM"
		return out, nil
	}

	// audit: SIGKILL to the process Guard allowed, still alive after grace,
	// identity-checked again in send.
	if done, err := t.step(&out, syscall.SIGKILL, "exited at the end of grace"); done {
		return out, err
	}
	exited, err = t.wait(ctx, killWait)
	if err != nil {
		out.Detail = "stopped waiting after SIGKILL"
		return out, err
	}
	if !exited {
		out.Detail = fmt.Sprintf("still present %s after SIGKILL (uninterruptible sleep?)", killWait)
		return out, nil
	}
	out.Exited = true
	out.Detail = fmt.Sprintf("killed after ignoring SIGTERM for %s", grace)
	return out, nil
}

// step sends one signal and records it. done is true when Terminate must
// return: the process was already gone (err nil) or the signal failed.
func (t *target) step(out *Outcome, sig syscall.Signal, goneDetail string) (bool, error) {
	err := t.send(sig)
	if errors.Is(err, ErrGone) {
		out.Exited, out.Detail = true, goneDetail
		return true, nil
	}
	if err != nil {
		out.Detail = "could not send " + unix.SignalName(sig)
		return true, err
	}
	out.Signals = append(out.Signals, unix.SignalName(sig))
	return false, nil
}

// wait waits up to d for the process to exit. With a pidfd it polls it for
// readability, which the kernel signals once the process has exited, zombie
// or reaped. Without one it rechecks /proc every few milliseconds.
func (t *target) wait(ctx context.Context, d time.Duration) (bool, error) {
	deadline := time.Now().Add(d)
	for {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return t.hasExited()
		}
		slice := min(left, pollSlice)

		if t.pidfd < 0 {
			if gone, err := t.hasExited(); gone || err != nil {
				return gone, err
			}
			time.Sleep(min(slice, 20*time.Millisecond))
			continue
		}

		fds := []unix.PollFd{{Fd: int32(t.pidfd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(slice.Milliseconds())+1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("poll pidfd of pid %d: %w", t.p.PID, err)
		}
		if n > 0 {
			return true, nil
		}
	}
}

// hasExited reports whether the process is gone or a zombie.
func (t *target) hasExited() (bool, error) {
	if t.pidfd >= 0 {
		fds := []unix.PollFd{{Fd: int32(t.pidfd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return false, fmt.Errorf("poll pidfd of pid %d: %w", t.p.PID, err)
		}
		return n > 0, nil
	}

	err := t.check()
	if errors.Is(err, ErrGone) || errors.Is(err, ErrIdentityChanged) {
		return true, nil
	}
	return false, err
}
