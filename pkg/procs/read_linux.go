package procs

// This file is the hot loop of List: it runs once per process, so it reads
// through one directory fd per process with reused buffers and raw syscalls.

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// maxProcFile caps what is read of one /proc file. Only cmdline comes near.
// LIMITATION: a command line longer than 1 MiB is cut at 1 MiB.
const maxProcFile = 1 << 20

const deletedSuffix = " (deleted)"

// reader reads processes for one worker; its buffers are reused between pids.
type reader struct {
	lc   *listCtx
	buf  []byte
	link []byte
	ents []byte
}

func newReader(lc *listCtx) *reader {
	return &reader{
		lc:   lc,
		buf:  make([]byte, 8<<10),
		link: make([]byte, unix.PathMax),
		ents: make([]byte, 8<<10),
	}
}

// exited reports whether err means the process went away while being read.
func exited(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH)
}

// read reads one process. Every file is opened relative to one fd of the
// /proc/PID directory, so all fields come from the same process even if the
// pid is reused meanwhile: reads of a reaped process fail with ENOENT/ESRCH.
func (r *reader) read(pid int32) (Process, error) {
	dir := r.lc.root + "/" + strconv.FormatInt(int64(pid), 10)
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Process{}, fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(dfd)

	b, err := r.readFile(dfd, "stat")
	if err != nil {
		return Process{}, fmt.Errorf("read %s/stat: %w", dir, err)
	}
	st, err := parseStat(b)
	if err != nil {
		return Process{}, fmt.Errorf("parse %s/stat: %w", dir, err)
	}

	p := Process{
		PID:            pid,
		PPID:           st.ppid,
		Comm:           st.comm,
		StartTicks:     st.start,
		StartUnixMilli: r.lc.bootMilli + int64(st.start*1000/r.lc.clkTck),
		State:          string(st.state),
		Zombie:         st.state == 'Z',
	}

	b, err = r.readFile(dfd, "status")
	if err != nil {
		return Process{}, fmt.Errorf("read %s/status: %w", dir, err)
	}
	uid, err := parseStatusUID(b)
	if err != nil {
		return Process{}, fmt.Errorf("parse %s/status: %w", dir, err)
	}
	p.UID = int32(uid)
	p.User = r.lc.users.name(uid)

	kthread := st.flags&pfKthread != 0
	if !kthread && !p.Zombie {
		// The link is absent for a process without an address space; such a
		// process keeps an empty Exe rather than being dropped.
		// LIMITATION: the kernel marks a deleted binary by the " (deleted)"
		// suffix alone, so a file really named "x (deleted)" reads as deleted.
		// LIMITATION: for a process in another mount namespace (a container)
		// Exe is the path in that namespace, not on the host; Cgroup tells
		// such processes apart.
		if n, err := unix.Readlinkat(dfd, "exe", r.link); err == nil {
			p.Exe, p.ExeDeleted = strings.CutSuffix(string(r.link[:n]), deletedSuffix)
		}

		b, err = r.readFile(dfd, "cmdline")
		if err != nil {
			return Process{}, fmt.Errorf("read %s/cmdline: %w", dir, err)
		}
		p.Cmdline = splitCmdline(b)
	}
	p.KernelThread = isKernelThread(st, pid, p.Exe == "" && len(p.Cmdline) == 0)

	b, err = r.readFile(dfd, "cgroup")
	if err != nil {
		return Process{}, fmt.Errorf("read %s/cgroup: %w", dir, err)
	}
	p.Cgroup = parseCgroup(b)

	if len(r.lc.sockets) > 0 && !kthread && !p.Zombie {
		p.Listens = r.listens(dfd)
	}
	return p, nil
}

// isKernelThread trusts the PF_KTHREAD flag; the kthreadd-parent rule is only
// a fallback for a process with no executable and no argv, because in a PID
// namespace pid 2 and its children are ordinary processes.
func isKernelThread(st statFields, pid int32, noImage bool) bool {
	if st.flags&pfKthread != 0 {
		return true
	}
	return noImage && st.state != 'Z' && (pid == 2 || st.ppid == 2)
}

// readFile reads a whole /proc file under dfd into the reader's buffer. The
// returned slice is valid until the next read.
func (r *reader) readFile(dfd int, name string) ([]byte, error) {
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)

	n := 0
	for {
		if n == len(r.buf) {
			if len(r.buf) >= maxProcFile {
				return r.buf[:n], nil
			}
			r.buf = slices.Grow(r.buf[:n], len(r.buf))[:2*len(r.buf)]
		}
		m, err := unix.Read(fd, r.buf[n:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			return r.buf[:n], nil
		}
		n += m
		if n < len(r.buf) {
			// The files read here (seq_file ones and cmdline) fill the
			// buffer unless they reached their end, so a short read is the
			// end: this saves one read(2) per file, a fifth of all syscalls.
			return r.buf[:n], nil
		}
	}
}

// listens maps the process's socket fds to the host's listening sockets.
// LIMITATION: without root, only the agent user's own fd tables can be read,
// so other processes show no Listens.
func (r *reader) listens(dfd int) []Listen {
	fdDir, err := unix.Openat(dfd, "fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(fdDir)

	var out []Listen
	seen := map[uint64]bool{}
	for {
		n, err := unix.Getdents(fdDir, r.ents)
		if err != nil || n <= 0 {
			break
		}
		_, _, names := unix.ParseDirent(r.ents[:n], -1, nil)
		for _, name := range names {
			m, err := unix.Readlinkat(fdDir, name, r.link)
			if err != nil {
				continue
			}
			inode, ok := socketInode(r.link[:m])
			if !ok || seen[inode] {
				continue
			}
			if l, ok := r.lc.sockets[inode]; ok {
				seen[inode] = true
				out = append(out, l)
			}
		}
	}
	sortListens(out)
	return out
}

// socketInode parses a "socket:[12345]" fd link.
func socketInode(link []byte) (uint64, bool) {
	s, ok := strings.CutPrefix(string(link), "socket:[")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, "]")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}
