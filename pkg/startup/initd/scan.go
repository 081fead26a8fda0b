// Package initd reads the SysV init scripts of /etc/init.d under a root:
// their LSB header, whether an rc?.d link starts them at boot, and whether
// a native systemd unit of the same name shadows them (systemd then ignores
// the script).
package initd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/arcanos-dev/arcanos/pkg/startup"
	"github.com/arcanos-dev/arcanos/pkg/startup/unitfiles"
)

// Kind is the startup.Item kind of init scripts.
const Kind = "initd_script"

const (
	initDir       = "etc/init.d"
	maxScriptSize = 1 << 20
)

// notScripts are files of /etc/init.d that are not services.
var notScripts = map[string]bool{
	"README": true, "skeleton": true, "rc": true, "rcS": true, "functions": true,
}

// leftovers are suffixes of package-manager and editor copies, not scripts.
var leftovers = []string{".dpkg-old", ".dpkg-dist", ".dpkg-new", ".dpkg-bak",
	".ucf-old", ".ucf-dist", ".rpmsave", ".rpmnew", "~"}

// daemonDirs are where a daemon named after Provides is looked for.
var daemonDirs = []string{"usr/sbin", "usr/bin", "sbin", "bin", "usr/local/sbin", "usr/local/bin"}

// Scan reads every init script of etc/init.d inside root. State is enabled
// (an S link in etc/rc[S2-5].d), disabled, or shadowed when unitNames (from
// unitfiles.SystemUnitNames) holds NAME.service or NAME: systemd runs the
// native unit instead. Problems with one script become Notes; only a
// cancelled ctx fails the scan.
func Scan(ctx context.Context, root *os.Root, users []startup.User,
	unitNames map[string]bool) ([]startup.Item, error) {
	names, err := listDir(root, initDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return []startup.Item{{
			Kind: Kind, Name: "/" + initDir, Path: "/" + initDir, State: "unreadable",
			Scope: "system", Notes: []string{err.Error()},
		}}, nil
	}
	links, err := startLinks(ctx, root)
	if err != nil {
		return nil, fmt.Errorf("scan init scripts: %w", err)
	}

	uids := startup.UserNames(users)
	var items []startup.Item
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("scan init scripts: %w", err)
		}
		if skip(name) {
			continue
		}
		if it, ok := scanScript(root, name, links[name], uids, unitNames); ok {
			items = append(items, it)
		}
	}
	return items, nil
}

func skip(name string) bool {
	if notScripts[name] || strings.HasPrefix(name, ".") {
		return true
	}
	for _, s := range leftovers {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// scanScript builds the item of one script; ok is false for a directory.
func scanScript(root *os.Root, name string, levels []string, uids map[uint32]string,
	unitNames map[string]bool) (startup.Item, bool) {
	rel := path.Join(initDir, name)
	it := startup.Item{Kind: Kind, Name: name, Path: "/" + rel, Scope: "system", State: "disabled"}

	t, err := unitfiles.Resolve(root, rel)
	switch {
	case err != nil:
		it.State = "bad"
		it.Notes = append(it.Notes, fmt.Sprintf("%v; not followed", err))
		return it, true
	case t.Info == nil:
		it.State = "bad"
		it.Notes = append(it.Notes, "dangling symlink")
		return it, true
	case t.Info.IsDir():
		return it, false
	case !t.Info.Mode().IsRegular():
		it.State = "bad"
		it.Notes = append(it.Notes, "not a regular file")
		return it, true
	}
	if t.Links > 0 {
		it.Notes = append(it.Notes, "symlink to /"+t.Path)
	}

	it.Owner, it.Mode, it.SHA256, err = startup.FileFacts(root, t.Path, uids)
	if err != nil {
		it.Notes = append(it.Notes, err.Error())
	}
	if t.Info.Mode().Perm()&0o111 == 0 {
		it.Notes = append(it.Notes, "not executable")
	}

	text, err := readScript(root, t.Path)
	if err != nil {
		it.Notes = append(it.Notes, err.Error())
	}
	s := parseScript(text)
	it.Notes = append(it.Notes, headerNotes(s.header, levels)...)
	it.Starts, it.Notes = starts(root, it.Path, s, it.Notes)
	it.RunAs = s.chuid

	if len(levels) > 0 {
		it.State = "enabled"
	}
	if unit := nativeUnit(name, unitNames); unit != "" {
		if it.State == "enabled" {
			it.Notes = append(it.Notes, "rc links would start it, but systemd runs the unit instead")
		}
		it.State = "shadowed"
		it.Notes = append(it.Notes, fmt.Sprintf("native unit %s exists; systemd ignores this script", unit))
	}
	return it, true
}

// nativeUnit is the unit that shadows script name, "" when none. systemd's
// sysv generator drops a trailing ".sh" to name the unit.
func nativeUnit(name string, unitNames map[string]bool) string {
	base := strings.TrimSuffix(name, ".sh")
	for _, n := range []string{base + ".service", base} {
		if unitNames[n] {
			return n
		}
	}
	return ""
}

func headerNotes(h header, levels []string) []string {
	if !h.found {
		return []string{"no LSB header (### BEGIN INIT INFO)"}
	}
	var notes []string
	if h.shortDescription != "" {
		notes = append(notes, "Short-Description: "+h.shortDescription)
	}
	if len(h.provides) > 0 {
		notes = append(notes, "Provides: "+strings.Join(h.provides, " "))
	}
	notes = append(notes, fmt.Sprintf("Default-Start: %s; Default-Stop: %s",
		strings.Join(h.defaultStart, " "), strings.Join(h.defaultStop, " ")))
	if len(levels) > 0 {
		notes = append(notes, "S links in runlevels "+strings.Join(levels, " "))
	}
	return notes
}

// starts says what the script starts: DAEMON= when plain, else a binary
// named by Provides found in the root, else the script itself.
func starts(root *os.Root, scriptPath string, s script, notes []string) ([]string, []string) {
	if d := s.vars["DAEMON"]; d != "" {
		return []string{d}, notes
	}
	if len(s.header.provides) > 0 && !strings.HasPrefix(s.header.provides[0], "$") {
		p := s.header.provides[0]
		for _, dir := range daemonDirs {
			t, err := unitfiles.Resolve(root, path.Join(dir, p))
			if err == nil && t.Info != nil && t.Info.Mode().IsRegular() {
				daemon := "/" + path.Join(dir, p)
				return []string{daemon}, append(notes, "daemon "+daemon+" guessed from Provides")
			}
		}
	}
	return []string{scriptPath}, notes
}

// readScript reads a resolved regular file; O_NONBLOCK keeps a FIFO
// swapped in since the Lstat from blocking the scan.
func readScript(root *os.Root, rel string) (string, error) {
	f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", fmt.Errorf("read /%s: %w", rel, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxScriptSize))
	if err != nil {
		return "", fmt.Errorf("read /%s: %w", rel, err)
	}
	return string(b), nil
}

// resolveDir resolves a directory path inside root.
func resolveDir(root *os.Root, rel string) (string, error) {
	t, err := unitfiles.Resolve(root, rel)
	if err != nil {
		return "", err
	}
	if t.Info == nil {
		return "", fmt.Errorf("/%s: %w", rel, fs.ErrNotExist)
	}
	if !t.Info.IsDir() {
		return "", fmt.Errorf("/%s: not a directory", rel)
	}
	return t.Path, nil
}
