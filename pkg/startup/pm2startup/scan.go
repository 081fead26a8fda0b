// Package pm2startup reports the systemd units `pm2 startup` writes
// (pm2-USER.service, running `pm2 resurrect` at boot) and the apps each one
// brings back from its PM2 dump file.
//
// A dump file alone starts nothing: only a unit resurrects it, so PM2 homes
// without a unit are not visited.
package pm2startup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/arcanos-dev/arcanos/pkg/rootfs"
	"github.com/arcanos-dev/arcanos/pkg/startup"
)

// Kind is the startup.Item kind this package reports.
const Kind = "pm2_startup"

// unitDirs are searched in systemd's order: the first holding a unit wins.
//
// LIMITATION: run/systemd/system, generators and user units are not read;
// `pm2 startup` writes only to etc/systemd/system.
var unitDirs = []string{"etc/systemd/system", "lib/systemd/system", "usr/lib/systemd/system"}

const maxUnit = 1 << 20

// Scan reports one Item per pm2-USER.service unit in root. Starts lists the
// app names of the unit's dump file. Each disagreement between the unit's
// name, its User=, the user's home, PM2_HOME and PIDFile= is a Note and sets
// State "mismatch"; otherwise State is "enabled" or "disabled" after the
// unit's [Install] links, "masked", or "shadowed" when a unit of the same name
// in an earlier directory wins. Only ctx ending gives an error.
func Scan(ctx context.Context, root *os.Root, users []startup.User) ([]startup.Item, error) {
	units, dirs := findUnits(root)
	names := make([]string, 0, len(units))
	for n := range units {
		names = append(names, n)
	}
	slices.Sort(names)

	var items []startup.Item
	for _, name := range names {
		for i, rel := range units[name] {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("scan pm2 startup units: %w", err)
			}
			it := readUnit(root, rel, name, dirs, users)
			if i > 0 {
				it.State = "shadowed"
				it.Notes = append(it.Notes, "shadowed by "+rootfs.Host(units[name][0]))
			}
			items = append(items, it)
		}
	}
	return items, nil
}

// findUnits lists pm2-USER.service files by unit name, in directory order,
// and returns the unit directories that exist, each once (lib is often a
// symlink to usr/lib).
func findUnits(root *os.Root) (map[string][]string, []string) {
	units := map[string][]string{}
	var dirs []string
	seen := map[string]bool{}
	for _, dir := range unitDirs {
		entries, resolved, err := rootfs.ReadDir(root, dir)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				slog.Debug("unit directory unreadable", "dir", rootfs.Host(dir), "err", err)
			}
			continue
		}
		if seen[resolved] {
			continue
		}
		seen[resolved] = true
		dirs = append(dirs, resolved)
		for _, de := range entries {
			if isPM2Unit(de.Name()) && !de.IsDir() {
				units[de.Name()] = append(units[de.Name()], path.Join(resolved, de.Name()))
			}
		}
	}
	return units, dirs
}

// isPM2Unit reports whether name has the form `pm2 startup` gives its units.
func isPM2Unit(name string) bool {
	user, ok := strings.CutPrefix(name, "pm2-")
	if !ok {
		return false
	}
	user, ok = strings.CutSuffix(user, ".service")
	return ok && user != "" && !strings.Contains(user, "@")
}

// readUnit reads one unit, its drop-ins and its dump file into an Item.
func readUnit(root *os.Root, rel, name string, dirs []string, users []startup.User) startup.Item {
	it := startup.Item{Kind: Kind, Name: name, Path: rootfs.Host(rel), Scope: "system"}

	if fi, err := root.Lstat(rel); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if target, err := root.Readlink(rel); err == nil && target == "/dev/null" {
			it.State = "masked"
			return it
		}
	}
	data, resolved, err := rootfs.ReadFile(root, rel, maxUnit)
	if resolved != "" && resolved != rel {
		it.Notes = append(it.Notes, "symlink to "+rootfs.Host(resolved))
	}
	if err != nil {
		it.State = "unreadable"
		it.Notes = append(it.Notes, "not read: "+rootfs.Describe(err))
		return it
	}
	if owner, mode, sum, err := startup.FileFacts(root, resolved, startup.UserNames(users)); err == nil {
		it.Owner, it.Mode, it.SHA256 = owner, mode, sum
	}

	var u pm2Unit
	u.apply(data, it.Path)
	for _, d := range dropIns(root, name, dirs) {
		if dd, _, err := rootfs.ReadFile(root, d, maxUnit); err == nil {
			u.apply(dd, rootfs.Host(d))
			it.Notes = append(it.Notes, "drop-in "+rootfs.Host(d)+" applied")
		} else {
			it.Notes = append(it.Notes, "drop-in not read: "+rootfs.Describe(err))
		}
	}
	it.Notes = append(it.Notes, u.notes...)

	c := check(name, &u, users)
	it.RunAs = c.user
	it.Notes = append(it.Notes, c.notes...)
	if !u.resurrects() {
		it.Notes = append(it.Notes, "ExecStart does not run `pm2 resurrect`: the dump file may not be what it starts")
	}

	it.State = "disabled"
	if enabled(root, name, u.wantedBy) {
		it.State = "enabled"
	}
	if c.mismatch {
		it.State = "mismatch"
	}

	if c.pm2Home == "" {
		it.Notes = append(it.Notes, "PM2 home unknown: dump file not read")
		return it
	}
	apps, notes := readDump(root, path.Join(c.pm2Home, "dump.pm2"))
	it.Notes = append(it.Notes, notes...)
	for _, a := range apps {
		it.Starts = append(it.Starts, a.Name)
		if a.ExecPath != "" {
			it.Notes = append(it.Notes, fmt.Sprintf("app %s runs %s", a.Name, a.ExecPath))
		}
	}
	return it
}

// dropIns lists NAME.d/*.conf across the unit directories; a file name in an
// earlier directory hides the same name in a later one. They apply in file
// name order.
func dropIns(root *os.Root, name string, dirs []string) []string {
	byName := map[string]string{}
	for _, dir := range dirs {
		entries, resolved, err := rootfs.ReadDir(root, path.Join(dir, name+".d"))
		if err != nil {
			continue
		}
		for _, de := range entries {
			if _, ok := byName[de.Name()]; !ok && strings.HasSuffix(de.Name(), ".conf") && !de.IsDir() {
				byName[de.Name()] = path.Join(resolved, de.Name())
			}
		}
	}
	keys := make([]string, 0, len(byName))
	for k := range byName {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, byName[k])
	}
	return out
}

// enabled reports whether a TARGET.wants or TARGET.requires link for the unit
// exists in etc/systemd/system for one of its [Install] targets.
//
// LIMITATION: links made by hand for targets not named in [Install], and
// enablement in lib/systemd/system, are not seen.
func enabled(root *os.Root, name string, targets []string) bool {
	for _, t := range targets {
		for _, suffix := range []string{".wants", ".requires"} {
			dir, err := rootfs.Resolve(root, path.Join("etc/systemd/system", t+suffix))
			if err != nil {
				continue
			}
			if _, err := root.Lstat(path.Join(dir, name)); err == nil {
				return true
			}
		}
	}
	return false
}
