// Package compose reports Docker Compose files: the projects they define, the
// images they start and whether their containers come back after a reboot
// (a restart policy brings them back when the Docker engine starts).
package compose

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strings"

	"github.com/arcanos-dev/arcanos/pkg/rootfs"
	"github.com/arcanos-dev/arcanos/pkg/startup"
)

// Kind is the startup.Item kind this package reports.
const Kind = "compose_file"

// fileNames are the names compose looks for, in its order of preference.
var fileNames = []string{"compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"}

const maxFile = 4 << 20

// Scan reports one Item per compose file found in dirs (host paths) and their
// direct sub-directories, and per file named in fromContainers: the config
// file paths of the compose labels of running containers, one path per
// element. Name is the project, Starts the image references ("build:SERVICE"
// for a service built without an image name), State "restarts" when a service
// has a restart policy that brings it back after a reboot, else "manual". A
// file that cannot be read or parsed is an Item with a Note. Only ctx ending
// gives an error.
//
// LIMITATION: override files (compose.override.yaml), include:, extends: and
// variable interpolation are not applied; .env files are never read.
func Scan(ctx context.Context, root *os.Root, users []startup.User, dirs []string,
	fromContainers []string) ([]startup.Item, error) {
	names := startup.UserNames(users)
	seen := map[string]int{} // resolved path -> index in items
	var items []startup.Item

	add := func(rel, found string) {
		resolved, err := rootfs.Resolve(root, rel)
		if err == nil {
			if i, ok := seen[resolved]; ok {
				if found != "" {
					items[i].Notes = appendOnce(items[i].Notes, found)
				}
				return
			}
			seen[resolved] = len(items)
		}
		it := readFile(root, rel, names)
		if found != "" {
			it.Notes = append(it.Notes, found)
		}
		items = append(items, it)
	}

	for _, dir := range dirs {
		for _, d := range withSubdirs(root, rootfs.Rel(dir)) {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("scan compose files: %w", err)
			}
			chosen := ""
			for _, n := range fileNames {
				rel := path.Join(d, n)
				if _, err := root.Lstat(rel); err != nil {
					continue
				}
				add(rel, "")
				if chosen == "" {
					chosen = rootfs.Host(rel)
					continue
				}
				i := len(items) - 1
				items[i].Notes = append(items[i].Notes,
					"compose uses "+chosen+" in this directory; this file is read only with -f")
			}
		}
	}

	for _, p := range fromContainers {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("scan compose files: %w", err)
		}
		if p == "" {
			continue
		}
		add(rootfs.Rel(p), "named by the compose labels of a running container")
	}
	return items, nil
}

// withSubdirs returns dir and its direct sub-directories as resolved
// root-relative paths (symlinks to directories inside root followed); a
// missing dir gives none.
func withSubdirs(root *os.Root, dir string) []string {
	entries, resolved, err := rootfs.ReadDir(root, dir)
	if err != nil {
		return nil
	}
	out := []string{resolved}
	for _, de := range entries {
		sub := path.Join(resolved, de.Name())
		if de.Type()&fs.ModeSymlink != 0 {
			r, err := rootfs.Resolve(root, sub)
			if err != nil {
				continue
			}
			if fi, err := root.Stat(r); err != nil || !fi.IsDir() {
				continue
			}
			sub = r
		} else if !de.IsDir() {
			continue
		}
		out = append(out, sub)
	}
	return out
}

// readFile turns one compose file into an Item.
func readFile(root *os.Root, rel string, names map[uint32]string) startup.Item {
	it := startup.Item{Kind: Kind, Name: projectName(path.Base(path.Dir(rel))), Path: rootfs.Host(rel), Scope: "system"}

	data, resolved, err := rootfs.ReadFile(root, rel, maxFile)
	if resolved != "" && resolved != rel {
		it.Notes = append(it.Notes, "symlink to "+rootfs.Host(resolved))
	}
	if errors.Is(err, fs.ErrNotExist) {
		it.State = "missing"
		it.Notes = append(it.Notes, "file does not exist")
		return it
	}
	if err != nil {
		it.State = "unreadable"
		it.Notes = append(it.Notes, "not read: "+rootfs.Describe(err))
		return it
	}
	if owner, mode, sum, err := startup.FileFacts(root, resolved, names); err == nil {
		it.Owner, it.Mode, it.SHA256 = owner, mode, sum
	}

	p, err := parse(data)
	if err != nil {
		it.State = "unreadable"
		it.Notes = append(it.Notes, "does not parse as a compose file: "+err.Error())
		return it
	}
	if p.name != "" {
		it.Name = p.name
	}
	it.Starts = p.starts
	it.Notes = append(it.Notes, p.notes...)
	it.State = "manual"
	if len(p.restarts) > 0 {
		it.State = "restarts"
		it.Notes = append(it.Notes, "restart policy brings back after a reboot: "+strings.Join(p.restarts, ", "))
	}
	return it
}

var notProjectChar = regexp.MustCompile(`[^a-z0-9_-]`)

// projectName normalises a directory name the way compose makes a project
// name of it: lower case, only [a-z0-9_-], starting with a letter or digit.
func projectName(dir string) string {
	n := notProjectChar.ReplaceAllString(strings.ToLower(dir), "")
	return strings.TrimLeft(n, "_-")
}

func appendOnce(list []string, s string) []string {
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}
