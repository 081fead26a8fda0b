package unitfiles

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
)

// ErrEscapes says a path or symlink leads above the audit root. Such a link
// is never followed.
var ErrEscapes = errors.New("points outside the audit root")

// maxLinks is how many symlinks one resolution follows, as the kernel's
// MAXSYMLINKS.
const maxLinks = 40

// Target is where a path inside the audit root leads once its symlinks are
// expanded.
type Target struct {
	// Path is root-relative, cleaned, with no symlink left in it; "." is
	// the root itself.
	Path string
	// Info is the Lstat of Path, nil when Path does not exist.
	Info fs.FileInfo
	// Links counts the symlinks followed.
	Links int
}

// Resolve expands the symlinks of rel (root-relative) one component at a
// time, the way the audited host would see them: an absolute link target is
// taken from the audit root, never from this host's "/", and a relative one
// that climbs above the root gives ErrEscapes. Only Lstat and Readlink are
// used, so nothing outside the root is ever opened. A path whose tail does
// not exist resolves lexically, with Info nil.
func Resolve(root *os.Root, rel string) (Target, error) {
	pending := split(rel)
	cur := ""
	links := 0

	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case ".":
			continue
		case "..":
			if cur == "" {
				return Target{}, fmt.Errorf("resolve %s: %w", rel, ErrEscapes)
			}
			cur = parent(cur)
			continue
		}

		next := path.Join(cur, c)
		fi, err := root.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			p := path.Join(append([]string{next}, pending...)...)
			if p == ".." || strings.HasPrefix(p, "../") {
				return Target{}, fmt.Errorf("resolve %s: %w", rel, ErrEscapes)
			}
			return Target{Path: p, Links: links}, nil
		}
		if err != nil {
			return Target{}, fmt.Errorf("resolve %s: %w", rel, err)
		}

		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			if len(pending) == 0 {
				return Target{Path: cur, Info: fi, Links: links}, nil
			}
			continue
		}

		links++
		if links > maxLinks {
			return Target{}, fmt.Errorf("resolve %s: %w", rel, syscall.ELOOP)
		}
		dest, err := root.Readlink(next)
		if err != nil {
			return Target{}, fmt.Errorf("resolve %s: %w", rel, err)
		}
		if path.IsAbs(dest) {
			cur = ""
		}
		pending = append(split(dest), pending...)
	}

	if cur == "" {
		cur = "."
	}
	fi, err := root.Lstat(cur)
	if err != nil {
		return Target{}, fmt.Errorf("resolve %s: %w", rel, err)
	}
	return Target{Path: cur, Info: fi, Links: links}, nil
}

func split(p string) []string {
	var out []string
	for c := range strings.SplitSeq(p, "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

func parent(p string) string {
	d := path.Dir(p)
	if d == "." {
		return ""
	}
	return d
}

// isDevNull reports whether a resolved target is the audited host's
// /dev/null, which masks a unit.
func isDevNull(t Target) bool {
	return t.Path == "dev/null"
}
