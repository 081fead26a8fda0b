// Package startup holds what every startup source (unit files, init.d scripts,
// XDG autostart, PM2 startup, compose files, cron) reports: one Item for each
// thing that can bring a daemon back after a reboot. The sources live in the
// sub-packages; each reads files through an *os.Root so that an audit of a
// test tree or a container's root never follows a symlink out of it.
package startup

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
)

// Item is one startup entry.
type Item struct {
	// Kind is unit_file, initd_script, autostart, pm2_startup, compose_file
	// or cron.
	Kind string
	// Name is the entry's own name: unit name, script name, desktop file id,
	// compose project, crontab line owner and number, ...
	Name string
	// Path is the file's path as seen on the audited host (rooted at "/").
	Path string
	// Owner is the file owner's user name, or the uid as text.
	Owner string
	// Mode is the permission bits in octal, like "0644".
	Mode string
	// SHA256 is the hex digest of the file's content.
	SHA256 string
	// State is how the entry stands: enabled, disabled, masked, static,
	// hidden, active, ... as fits the kind.
	State string
	// Scope is "system", "user" (seen by every user's manager) or
	// "user:NAME".
	Scope string
	// Starts lists what the entry starts: commands, or images for compose.
	Starts []string
	// RunAs is the user the started thing runs as, when the entry says so.
	RunAs string
	// Notes are problems and remarks found while reading the entry (invalid
	// values, a shadowing entry, a disagreement between files).
	Notes []string
}

// FileFacts reads owner, mode and sha256 of the file at rel inside root.
// users maps uid to name and may be nil.
func FileFacts(root *os.Root, rel string, users map[uint32]string) (owner, mode, sum string, err error) {
	// O_NONBLOCK: a FIFO swapped in for a startup file must not hang the
	// audit; it is refused below as not a regular file.
	f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", "", "", fmt.Errorf("open %s: %w", rel, err)
	}
	defer f.Close()

	st, err := f.Stat()
	if err != nil {
		return "", "", "", fmt.Errorf("stat %s: %w", rel, err)
	}
	if !st.Mode().IsRegular() {
		return "", "", "", fmt.Errorf("%s is not a regular file", rel)
	}
	mode = fmt.Sprintf("%04o", st.Mode().Perm())
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		owner = strconv.FormatUint(uint64(sys.Uid), 10)
		if name, ok := users[sys.Uid]; ok {
			owner = name
		}
	}

	h := sha256.New()
	// Startup files are small; the cap keeps a hostile huge file from
	// stalling an audit.
	if _, err := io.Copy(h, io.LimitReader(f, 16<<20)); err != nil {
		return owner, mode, "", fmt.Errorf("read %s: %w", rel, err)
	}
	return owner, mode, hex.EncodeToString(h.Sum(nil)), nil
}
