package procs

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	pscommon "github.com/shirou/gopsutil/v4/common"
	psnet "github.com/shirou/gopsutil/v4/net"
)

// procRoot is the proc file system List reads and Signal checks identities in.
// Inside `unshare --pid --fork --mount-proc` it is the namespace's own mount.
const procRoot = "/proc"

// ListOptions chooses the costlier parts of a List.
type ListOptions struct {
	// Ports fills Process.Listens. It walks the fd table of every process,
	// and is skipped when the host has no listening socket at all.
	Ports bool
}

// SkipError says that some processes could not be read for a reason other
// than having exited; List returns it together with every process it did read.
type SkipError struct {
	Skipped int
	First   error
}

// Error says how many processes were skipped and the first reason.
func (e *SkipError) Error() string {
	return fmt.Sprintf("list processes: %d skipped, first: %v", e.Skipped, e.First)
}

// Unwrap returns the first reason a process was skipped.
func (e *SkipError) Unwrap() error { return e.First }

// afterEnumerate, when set by a test, runs between pid enumeration and the
// per-process reads, so a test can make a listed process exit deterministically.
var afterEnumerate func(pids []int32)

// List returns the host's processes in pid order, each read from its own
// /proc/PID directory with every file read at most once. Processes that exit
// while being read are left out without error. Processes that fail to read for
// another reason are left out and reported in a *SkipError next to the list.
// When ctx ends, List returns the processes read so far and ctx.Err().
func List(ctx context.Context, opts ListOptions) ([]Process, error) {
	return listAt(ctx, procRoot, opts)
}

func listAt(ctx context.Context, root string, opts ListOptions) ([]Process, error) {
	bootMilli, err := bootUnixMilli()
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}

	psctx := context.WithValue(ctx, pscommon.EnvKey, pscommon.EnvMap{pscommon.HostProcEnvKey: root})
	pids, err := psnet.PidsWithContext(psctx)
	if err != nil {
		return nil, fmt.Errorf("list processes: enumerate pids in %s: %w", root, err)
	}
	slices.Sort(pids)

	var sockets map[uint64]Listen
	if opts.Ports {
		sockets, err = listeningSockets(root)
		if err != nil {
			return nil, fmt.Errorf("list processes: %w", err)
		}
	}

	if afterEnumerate != nil {
		afterEnumerate(pids)
	}

	lc := &listCtx{
		root:      root,
		clkTck:    clockTicks(),
		bootMilli: bootMilli,
		sockets:   sockets,
		users:     newUserNames(),
	}
	return lc.readAll(ctx, pids)
}

// listCtx is what every worker of one List shares.
type listCtx struct {
	root      string
	clkTck    uint64
	bootMilli int64
	sockets   map[uint64]Listen // listening socket inode -> socket; nil without Ports
	users     *userNames
}

// slot is one pid's result, written by exactly one worker.
type slot struct {
	proc Process
	ok   bool
	err  error
}

// readAll reads pids with a small pool of workers. Reading /proc is syscall
// bound, so a few workers per CPU overlap the kernel's work on each file.
func (lc *listCtx) readAll(ctx context.Context, pids []int32) ([]Process, error) {
	slots := make([]slot, len(pids))
	workers := min(2*runtime.GOMAXPROCS(0), len(pids)/32+1)

	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			r := newReader(lc)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(pids) || ctx.Err() != nil {
					return
				}
				p, err := r.read(pids[i])
				switch {
				case err == nil:
					slots[i] = slot{proc: p, ok: true}
				case exited(err):
					slog.Debug("process exited while listed", "pid", pids[i])
				default:
					slots[i] = slot{err: err}
				}
			}
		})
	}
	wg.Wait()

	out := make([]Process, 0, len(pids))
	var skip SkipError
	for _, s := range slots {
		if s.ok {
			out = append(out, s.proc)
		} else if s.err != nil {
			if skip.First == nil {
				skip.First = s.err
			}
			skip.Skipped++
		}
	}

	if err := ctx.Err(); err != nil {
		return out, fmt.Errorf("list processes: %d of %d read: %w", len(out), len(pids), err)
	}
	if skip.Skipped > 0 {
		slog.Debug("processes skipped", "count", skip.Skipped, "first", skip.First)
		return out, &skip
	}
	return out, nil
}
