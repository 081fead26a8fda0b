// Package rootfs reads files of an audited root (a test tree, a container's
// root filesystem, or "/") through an *os.Root, following symlinks the way a
// process chrooted there would see them, but never out of the root.
//
// os.Root refuses every absolute symlink and every ".." that climbs above the
// root. Resolve rewrites a path so that absolute targets are taken as rooted at
// the audited root; the files are then opened through the os.Root, which still
// guards each step, so a link swapped in between resolving and opening cannot
// lead out either.
package rootfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

// ErrEscapes says a symlink on the way leads out of the audited root.
var ErrEscapes = errors.New("symlink leads out of the audited root: not followed")

// ErrTooManyLinks says a path holds a symlink loop or a chain too long to follow.
var ErrTooManyLinks = errors.New("too many levels of symlinks")

// ErrTooLarge says a file is larger than the caller agreed to read.
var ErrTooLarge = errors.New("file larger than the read limit")

// ErrNotRegular says a path names something other than a regular file.
var ErrNotRegular = errors.New("not a regular file")

// maxLinks matches Linux's limit on symlinks followed in one lookup.
const maxLinks = 40

// Rel turns a host path ("/etc/crontab") into a root-relative one
// ("etc/crontab"); the root itself is ".".
func Rel(host string) string {
	p := strings.TrimLeft(path.Clean("/"+host), "/")
	if p == "" {
		return "."
	}
	return p
}

// Host turns a root-relative path back into the path seen on the audited host.
func Host(rel string) string {
	return path.Clean("/" + rel)
}

// Resolve returns the root-relative path that rel names once every symlink on
// the way is followed, absolute targets taken as rooted at root. A ".." that
// climbs above the root gives ErrEscapes. The last component need not exist:
// a missing one gives an error wrapping fs.ErrNotExist.
//
// LIMITATION: inside a chroot the kernel keeps "/.." at "/"; we refuse such a
// link instead, so an entry reached through one is reported, not read.
func Resolve(root *os.Root, rel string) (string, error) {
	rest := split(rel)
	var done []string
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) == 0 {
				return "", fmt.Errorf("resolve %s: %w", Host(rel), ErrEscapes)
			}
			done = done[:len(done)-1]
			continue
		}

		p := strings.Join(append(slices.Clip(done), c), "/")
		fi, err := root.Lstat(p)
		if err != nil {
			return "", fmt.Errorf("resolve %s: %w", Host(rel), err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, c)
			continue
		}

		links++
		if links > maxLinks {
			return "", fmt.Errorf("resolve %s: %w", Host(rel), ErrTooManyLinks)
		}
		target, err := root.Readlink(p)
		if err != nil {
			return "", fmt.Errorf("resolve %s: %w", Host(rel), err)
		}
		if path.IsAbs(target) {
			done = done[:0]
		}
		rest = append(split(target), rest...)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return strings.Join(done, "/"), nil
}

func split(p string) []string {
	return strings.Split(strings.Trim(p, "/"), "/")
}

// ReadFile reads the regular file rel names, following symlinks inside root,
// and returns its content and the resolved root-relative path. A file larger
// than limit bytes gives ErrTooLarge.
func ReadFile(root *os.Root, rel string, limit int64) ([]byte, string, error) {
	resolved, err := Resolve(root, rel)
	if err != nil {
		return nil, "", err
	}

	f, err := root.Open(resolved)
	if err != nil {
		return nil, resolved, fmt.Errorf("open %s: %w", Host(resolved), err)
	}
	defer f.Close()

	st, err := f.Stat()
	if err != nil {
		return nil, resolved, fmt.Errorf("stat %s: %w", Host(resolved), err)
	}
	if !st.Mode().IsRegular() {
		return nil, resolved, fmt.Errorf("read %s: %w", Host(resolved), ErrNotRegular)
	}

	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, resolved, fmt.Errorf("read %s: %w", Host(resolved), err)
	}
	if int64(len(data)) > limit {
		return nil, resolved, fmt.Errorf("read %s: %w (%d bytes)", Host(resolved), ErrTooLarge, limit)
	}
	return data, resolved, nil
}

// ReadDir lists the directory rel names, following symlinks inside root, sorted
// by name, and returns the resolved root-relative path. Entries report their
// own type: a symlink in the directory is listed as a symlink.
func ReadDir(root *os.Root, rel string) ([]fs.DirEntry, string, error) {
	resolved, err := Resolve(root, rel)
	if err != nil {
		return nil, "", err
	}

	f, err := root.Open(resolved)
	if err != nil {
		return nil, resolved, fmt.Errorf("open directory %s: %w", Host(resolved), err)
	}
	defer f.Close()

	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, resolved, fmt.Errorf("read directory %s: %w", Host(resolved), err)
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, resolved, nil
}

// Describe turns an error from this package into a short note for a finding:
// the reason without the wrapping, for the common cases a reader acts on.
func Describe(err error) string {
	switch {
	case errors.Is(err, ErrEscapes):
		return ErrEscapes.Error()
	case errors.Is(err, ErrTooManyLinks):
		return ErrTooManyLinks.Error()
	case errors.Is(err, fs.ErrNotExist):
		return "does not exist"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	return err.Error()
}
