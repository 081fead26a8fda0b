package pm2

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
)

// LogFile is one log file a flush would truncate.
type LogFile struct {
	App  string
	Path string
	// Bytes is the file's size when planned, or when truncated in the list
	// Flush returns.
	Bytes int64

	// UID, Dev and Inode are the file's owner and identity when planned;
	// Flush truncates only that same file.
	UID   uint32
	Dev   uint64
	Inode uint64
}

// FlushPlan lists the log files PM2 names for each app (out, error and
// combined log), with their sizes. It reads with lstat and keeps only regular
// files with one link that the app's daemon user owns: never a symlink, a
// device like /dev/null, or a file of another user that an app config names.
// A file shared by several apps is listed once.
func FlushPlan(apps []App) []LogFile {
	var plan []LogFile
	seen := map[[2]uint64]bool{}
	for _, a := range apps {
		for _, p := range []string{a.OutLog, a.ErrLog, a.CombinedLog} {
			if p == "" {
				continue
			}
			lf, err := planFile(a, p)
			if err != nil {
				slog.Debug("pm2 log not flushable", "app", a.Name, "path", p, "reason", err)
				continue
			}
			key := [2]uint64{lf.Dev, lf.Inode}
			if seen[key] {
				continue
			}
			seen[key] = true
			plan = append(plan, lf)
		}
	}
	return plan
}

func planFile(a App, path string) (LogFile, error) {
	if !filepath.IsAbs(path) {
		return LogFile{}, errors.New("not an absolute path")
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return LogFile{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return LogFile{}, errors.New("no file identity")
	}
	lf := LogFile{App: a.Name, Path: path, Bytes: fi.Size(), UID: st.Uid, Dev: st.Dev, Inode: st.Ino}
	if err := flushable(fi.Mode(), st, uint32(a.Daemon.UID)); err != nil {
		return LogFile{}, err
	}
	return lf, nil
}

// flushable says why a file must not be truncated for a daemon of uid.
func flushable(mode os.FileMode, st *syscall.Stat_t, uid uint32) error {
	switch {
	case !mode.IsRegular():
		return fmt.Errorf("not a regular file (%v)", mode.Type())
	case st.Uid != uid:
		return fmt.Errorf("owned by uid %d, not the daemon's uid %d", st.Uid, uid)
	case st.Nlink != 1:
		return fmt.Errorf("has %d links", st.Nlink)
	}
	return nil
}

// Flush truncates each planned file to zero bytes, re-checking it first: it
// opens the path without following a final symlink and truncates through
// that descriptor only if it is still a regular file with one link, owned by
// the same uid and with the same device and inode as planned. It returns the
// files it truncated, with the bytes they held, and one error per file left.
//
// LIMITATION: directories above the file are still followed if they are
// symlinks; the owner and inode checks then limit a swap to the daemon
// user's own files.
func Flush(files []LogFile) ([]LogFile, []error) {
	var done []LogFile
	var errs []error
	for _, lf := range files {
		n, err := flushOne(lf)
		if err != nil {
			errs = append(errs, fmt.Errorf("flush pm2 log %s of %s: %w", lf.Path, lf.App, err))
			continue
		}
		lf.Bytes = n
		done = append(done, lf)
	}
	return done, errs
}

func flushOne(lf LogFile) (int64, error) {
	if !filepath.IsAbs(lf.Path) || lf.Inode == 0 {
		return 0, errors.New("not a file FlushPlan listed")
	}
	f, err := os.OpenFile(lf.Path, os.O_WRONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return 0, fmt.Errorf("open: %w", err)
	}
	defer f.Close()

	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, errors.New("no file identity")
	}
	if err := flushable(fi.Mode(), st, lf.UID); err != nil {
		return 0, err
	}
	if st.Dev != lf.Dev || st.Ino != lf.Inode {
		return 0, errors.New("replaced since planned (other inode)")
	}

	// audit: truncates one pm2 app log file to zero bytes; guard: opened
	// without following a symlink, and still the regular, single-link file
	// of the daemon's uid with the inode FlushPlan saw.
	if err := f.Truncate(0); err != nil {
		return 0, fmt.Errorf("truncate: %w", err)
	}
	return fi.Size(), nil
}
