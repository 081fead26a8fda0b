// Package pidfiles finds pid and lock files whose process is gone, and removes
// them after checking again that nothing changed.
package pidfiles

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/rootfs"
)

// File is one pid or lock file.
type File struct {
	Path   string // host path
	PID    int32  // the pid it holds, 0 when none
	Bytes  int64
	Stale  bool
	Reason string // why it is stale or not

	// What Remove checks again before removing: the file's identity and
	// content when scanned, and the liveness lookup it was judged by.
	dev, ino uint64
	mtime    time.Time
	content  []byte
	alive    func(int32) bool
}

// minAge is how old a file must be before it can be stale: a process may
// write its pid file before it shows in a process list taken earlier.
const minAge = time.Minute

// maxDepth counts the directory given as 1: its files and its sub-directories'
// files are read.
const maxDepth = 2

// maxContent caps what is read of one pid file.
const maxContent = 4096

// neverWalk are the kernel's virtual filesystems: never walked, even when
// named in dirs.
var neverWalk = []string{"proc", "sys", "dev"}

// Scan lists the *.pid and *.lock regular files in dirs (host paths like
// /run, /var/run, /tmp) and their sub-directories. A file is stale when the
// pid on its first line is not alive per alive, which the caller builds from
// the process list. Symlinks, directories and other non-regular files are
// never listed. Only ctx ending gives an error.
//
// LIMITATION: pids are judged in the caller's PID namespace; a pid file
// written inside a container holds a pid of the container's namespace.
func Scan(ctx context.Context, root *os.Root, dirs []string, alive func(pid int32) bool) ([]File, error) {
	seen := map[string]bool{}
	var files []File
	now := time.Now()
	for _, dir := range dirs {
		resolved, err := rootfs.Resolve(root, rootfs.Rel(dir))
		if err != nil || seen[resolved] || forbidden(resolved) {
			continue
		}
		seen[resolved] = true
		got, err := walk(ctx, root, resolved, 1, alive, now)
		if err != nil {
			return nil, err
		}
		files = append(files, got...)
	}
	return files, nil
}

// forbidden reports whether rel is or lies inside a kernel virtual filesystem.
func forbidden(rel string) bool {
	for _, f := range neverWalk {
		if rel == f || strings.HasPrefix(rel, f+"/") {
			return true
		}
	}
	return false
}

func walk(ctx context.Context, root *os.Root, dir string, depth int, alive func(int32) bool,
	now time.Time) ([]File, error) {
	d, err := root.Open(dir)
	if err != nil {
		slog.Debug("pid file directory not read", "dir", rootfs.Host(dir), "err", err)
		return nil, nil
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		slog.Debug("pid file directory not fully read", "dir", rootfs.Host(dir), "err", err)
	}

	var files []File
	for _, de := range entries {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("scan pid files in %s: %w", rootfs.Host(dir), err)
		}
		rel := path.Join(dir, de.Name())
		switch {
		case de.Type().IsDir():
			if depth < maxDepth && !forbidden(rel) {
				sub, err := walk(ctx, root, rel, depth+1, alive, now)
				if err != nil {
					return nil, err
				}
				files = append(files, sub...)
			}
		case de.Type().IsRegular() && isCandidate(de.Name()):
			if f, ok := judge(root, rel, alive, now); ok {
				files = append(files, f)
			}
		}
	}
	return files, nil
}

func isCandidate(name string) bool {
	return strings.HasSuffix(name, ".pid") || strings.HasSuffix(name, ".lock")
}

// judge reads one file and decides whether it is stale. ok is false when the
// file vanished or is no longer a regular file.
func judge(root *os.Root, rel string, alive func(int32) bool, now time.Time) (File, bool) {
	f := File{Path: rootfs.Host(rel), alive: alive}
	st, content, err := snapshot(root, rel)
	if err != nil {
		return f, false
	}
	f.Bytes = st.Size()
	f.mtime = st.ModTime()
	f.content = content
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		f.dev, f.ino = uint64(sys.Dev), sys.Ino
	}

	pid, ok := firstPID(content)
	switch {
	case !ok && strings.HasSuffix(rel, ".lock"):
		f.Reason = "lock file holds no pid: its owner cannot be known"
	case !ok:
		f.Reason = "holds no pid on its first line"
	case now.Sub(f.mtime) < minAge:
		f.PID = pid
		f.Reason = "younger than a minute: its process may still be starting"
	case alive(pid):
		f.PID = pid
		f.Reason = fmt.Sprintf("pid %d is alive", pid)
	default:
		f.PID = pid
		f.Stale = true
		f.Reason = fmt.Sprintf("no process with pid %d", pid)
	}
	return f, true
}

// snapshot returns the stat and up to maxContent bytes of the regular file at
// rel. os.Root would follow a final symlink inside the root, so the opened
// file must be the very one Lstat saw.
func snapshot(root *os.Root, rel string) (fs.FileInfo, []byte, error) {
	lst, err := root.Lstat(rel)
	if err != nil {
		return nil, nil, err
	}
	if !lst.Mode().IsRegular() {
		return nil, nil, rootfs.ErrNotRegular
	}

	fh, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() || !os.SameFile(st, lst) {
		return nil, nil, errors.New("replaced while being opened")
	}
	content, err := io.ReadAll(io.LimitReader(fh, maxContent))
	if err != nil {
		return nil, nil, err
	}
	return st, content, nil
}

// firstPID parses the first line of a pid file as a positive pid.
func firstPID(content []byte) (int32, bool) {
	line, err := bufio.NewReader(bytes.NewReader(content)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(line), 10, 32)
	if err != nil || n <= 0 {
		return 0, false
	}
	return int32(n), true
}
