// Package allowlist loads, validates and matches the operators' allowlist
// (config/authorized-services.json): the processes, systemd units, PM2 apps
// and Docker images that a purge must leave alone. See docs/allowlist.md.
package allowlist

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Allowlist is a validated allowlist. Its zero value (see Empty) and a nil
// *Allowlist authorize nothing.
type Allowlist struct {
	// Processes are the authorizedProcesses entries, in file order.
	Processes []ProcessRule
	// Services are the authorizedServices entries as written.
	Services []string
	// PM2Ecosystem is the absolute path of the ecosystem file, or "".
	PM2Ecosystem string
	// PM2Apps are the app names read from PM2Ecosystem.
	PM2Apps []string
	// Images are the allowedDockerImages entries as written.
	Images []string
	// Digest is the sha256 (hex) of the allowlist file's bytes, so a run can
	// record which allowlist judged it.
	Digest string
	// Path is the allowlist file's path as given to Load or Parse.
	Path string

	images []imageRule // parsed Images, same order
}

// ProcessRule is one authorizedProcesses entry. A bare string entry sets
// only Name. Every non-empty field must match for the rule to match.
type ProcessRule struct {
	// Name is matched against comm, the exe base name and argv0's base name.
	Name string
	// Exe is an absolute path or a path.Match glob over the resolved exe.
	// It also matches in the form its symlinks resolve to on the host that
	// parsed it (see exeAlias): /bin/sleep matches /usr/bin/sleep on
	// merged-/usr systems.
	Exe string
	// User is the passwd name (or uid as text) the process must run as.
	User string
	// SHA256 is the lowercase hex sha256 the exe's content must have.
	SHA256 string

	exeAlias string // Exe with its symlinks resolved at Parse, or ""
}

// maxAllowlistSize caps the allowlist file that Load reads.
const maxAllowlistSize = 4 << 20

// Empty returns an allowlist that authorizes nothing.
func Empty() *Allowlist {
	return &Allowlist{}
}

// Load reads and validates the allowlist at path. Any problem, including a
// missing or unreadable file, is returned as a *ValidationError listing every
// problem found; the allowlist is then nil so that nothing acts on half of it.
func Load(path string) (*Allowlist, error) {
	data, err := readCapped(path, maxAllowlistSize)
	if err != nil {
		return nil, &ValidationError{File: path, Problems: []Problem{{
			Path: "$", Message: fileProblem("allowlist", err),
		}}}
	}
	return Parse(data, path)
}

// Parse validates data as the content of the allowlist file at path. Path
// names the file in problems and anchors a relative pm2Ecosystem; when it is
// "", a relative pm2Ecosystem resolves against the working directory.
func Parse(data []byte, path string) (*Allowlist, error) {
	return ParseWith(data, path, ParseOptions{})
}

// ParseOptions changes what ParseWith checks.
type ParseOptions struct {
	// SkipHostFiles leaves unread the files the allowlist names (the
	// pm2Ecosystem file), checking only how they are named: a controller
	// validating a document for its hosts must not read its own files in
	// their place. The Allowlist then has no PM2 apps.
	SkipHostFiles bool
	// ExtraKeys are top-level keys the caller handles itself (the
	// controller's "overlays"); they are not reported as unknown.
	ExtraKeys []string
}

// ParseWith is Parse with options.
func ParseWith(data []byte, path string, opts ParseOptions) (*Allowlist, error) {
	sum := sha256.Sum256(data)
	a, problems := build(data, path, opts)
	if len(problems) > 0 {
		return nil, &ValidationError{File: path, Problems: problems}
	}
	a.Digest = hex.EncodeToString(sum[:])
	a.Path = path
	return a, nil
}

// errTooLarge reports a file over its size cap.
var errTooLarge = errors.New("file too large")

// readCapped reads a regular file of at most limit bytes. It opens without
// blocking, so a FIFO or device at the path is refused instead of hanging.
func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}

	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", errTooLarge, limit)
	}
	return data, nil
}

// fileProblem says what is wrong with reading a file and what to do.
func fileProblem(what string, err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("%s file does not exist: %v; create it or fix the path", what, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("%s file is not readable: %v; fix its permissions", what, err)
	case errors.Is(err, errTooLarge):
		return fmt.Sprintf("%s file is too large (%v); it should be a few kilobytes", what, err)
	default:
		return fmt.Sprintf("cannot read %s file: %v", what, err)
	}
}
