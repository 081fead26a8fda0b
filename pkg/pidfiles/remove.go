package pidfiles

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/arcanos-dev/arcanos/pkg/rootfs"
)

// ErrChanged says a file is no longer the one Scan judged stale.
var ErrChanged = errors.New("changed since it was scanned")

// Remove removes the stale files, each only after checking again, just before,
// that it is the same regular file (device and inode), with the same content
// and modification time, and that its pid is still not alive. Files not
// marked stale by Scan, or not from Scan at all, are refused. It returns the
// files removed and one error per file refused or not removed.
//
// LIMITATION: between the last check and the unlink, another process could
// replace the file under the same name; unlink has no "only this inode" form.
func Remove(root *os.Root, files []File) ([]File, []error) {
	var (
		removed []File
		errs    []error
	)
	for _, f := range files {
		if err := recheck(root, f); err != nil {
			errs = append(errs, err)
			continue
		}
		rel := rootfs.Rel(f.Path)
		// audit: unlinks one stale pid/lock file inside the audited root;
		// guarded by recheck (same inode, regular, same content and mtime,
		// pid still not alive, older than a minute) just before.
		if err := root.Remove(rel); err != nil {
			errs = append(errs, fmt.Errorf("remove pid file %s: %w", f.Path, err))
			continue
		}
		removed = append(removed, f)
	}
	return removed, errs
}

// recheck says why f must not be removed now, or nil.
func recheck(root *os.Root, f File) error {
	if !f.Stale {
		return fmt.Errorf("pid file %s is not stale (%s): not removed", f.Path, f.Reason)
	}
	if f.alive == nil || f.ino == 0 || f.PID <= 0 {
		return fmt.Errorf("pid file %s did not come from Scan: not removed", f.Path)
	}
	rel := rootfs.Rel(f.Path)
	if forbidden(rel) || !isCandidate(rel) {
		return fmt.Errorf("pid file %s is outside what Scan may list: not removed", f.Path)
	}

	st, content, err := snapshot(root, rel)
	if err != nil {
		return fmt.Errorf("pid file %s: %w; not removed", f.Path, err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	switch {
	case !ok || uint64(sys.Dev) != f.dev || sys.Ino != f.ino:
		return fmt.Errorf("pid file %s was replaced by another file: %w; not removed", f.Path, ErrChanged)
	case !bytes.Equal(content, f.content):
		return fmt.Errorf("pid file %s content %w; not removed", f.Path, ErrChanged)
	case !st.ModTime().Equal(f.mtime):
		return fmt.Errorf("pid file %s modification time %w; not removed", f.Path, ErrChanged)
	case f.alive(f.PID):
		return fmt.Errorf("pid file %s: pid %d is alive now: not removed", f.Path, f.PID)
	}
	return nil
}
