// Package xdg reports XDG autostart entries: the .desktop files a graphical
// session starts at login, system-wide and per user.
package xdg

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"strings"

	"github.com/arcanos-dev/arcanos/pkg/rootfs"
	"github.com/arcanos-dev/arcanos/pkg/startup"
)

// Kind is the startup.Item kind this package reports.
const Kind = "autostart"

// LIMITATION: only the default directories are read (etc/xdg/autostart and
// HOME/.config/autostart); a session started with XDG_CONFIG_DIRS or
// XDG_CONFIG_HOME pointing elsewhere reads other directories we never see.
const systemDir = "etc/xdg/autostart"

const userDir = ".config/autostart"

// maxFile caps what is read of one desktop file.
const maxFile = 1 << 20

// Scan reports one Item per autostart desktop file in root: the system entries
// (Scope "system") and each user's entries (Scope "user:NAME"). A user file
// with the same desktop file id as a system file replaces it for that user; the
// user's Item says so in its Notes and carries the state the user gets. Only
// ctx ending gives an error: a file that cannot be read is an Item with State
// "unreadable" and a Note.
func Scan(ctx context.Context, root *os.Root, users []startup.User) ([]startup.Item, error) {
	names := startup.UserNames(users)

	items, err := scanDir(ctx, root, systemDir, "system", "", names)
	if err != nil {
		return nil, err
	}
	system := map[string]int{}
	for i, it := range items {
		if strings.HasSuffix(it.Name, ".desktop") {
			system[it.Name] = i
		}
	}

	for _, u := range users {
		if u.Home == "" {
			continue
		}
		dir := path.Join(rootfs.Rel(u.Home), userDir)
		own, err := scanDir(ctx, root, dir, "user:"+u.Name, u.Name, names)
		if err != nil {
			return nil, err
		}
		for i := range own {
			si, ok := system[own[i].Name]
			if !ok {
				continue
			}
			own[i].Notes = append(own[i].Notes, "overrides "+items[si].Path)
			items[si].Notes = append(items[si].Notes,
				fmt.Sprintf("overridden for user %s by %s", u.Name, own[i].Path))
		}
		items = append(items, own...)
	}
	return items, nil
}

// scanDir reads the desktop files of one autostart directory. A missing
// directory holds nothing; one that cannot be read is reported as an Item.
func scanDir(ctx context.Context, root *os.Root, dir, scope, runAs string,
	names map[uint32]string) ([]startup.Item, error) {
	entries, _, err := rootfs.ReadDir(root, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		slog.Debug("autostart directory unreadable", "dir", rootfs.Host(dir), "err", err)
		return []startup.Item{{
			Kind: Kind, Name: rootfs.Host(dir), Path: rootfs.Host(dir), Scope: scope,
			State: "unreadable", Notes: []string{"directory not read: " + rootfs.Describe(err)},
		}}, nil
	}

	var items []startup.Item
	for _, de := range entries {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("scan autostart %s: %w", rootfs.Host(dir), err)
		}
		if !strings.HasSuffix(de.Name(), ".desktop") || de.IsDir() {
			continue
		}
		items = append(items, readEntry(root, path.Join(dir, de.Name()), scope, runAs, names))
	}
	return items, nil
}

// readEntry turns one desktop file into an Item.
func readEntry(root *os.Root, rel, scope, runAs string, names map[uint32]string) startup.Item {
	it := startup.Item{
		Kind:  Kind,
		Name:  path.Base(rel),
		Path:  rootfs.Host(rel),
		Scope: scope,
		RunAs: runAs,
	}

	data, resolved, err := rootfs.ReadFile(root, rel, maxFile)
	if resolved != "" && resolved != rel {
		it.Notes = append(it.Notes, "symlink to "+rootfs.Host(resolved))
	}
	if err != nil {
		it.State = "unreadable"
		it.Notes = append(it.Notes, "not read: "+rootfs.Describe(err))
		return it
	}
	if owner, mode, sum, err := startup.FileFacts(root, resolved, names); err == nil {
		it.Owner, it.Mode, it.SHA256 = owner, mode, sum
	} else {
		it.Notes = append(it.Notes, "file facts: "+err.Error())
	}

	e := parseDesktop(data)
	it.State = state(&e)
	if exec, ok := e.values["Exec"]; ok && exec != "" {
		it.Starts = []string{stripFieldCodes(exec)}
	} else if it.State == "enabled" {
		e.notes = append(e.notes, "no Exec key: starts nothing")
	}
	if t, ok := e.values["Type"]; ok && t != "Application" {
		e.notes = append(e.notes, fmt.Sprintf("Type=%s: sessions autostart only Type=Application", t))
	}
	for _, key := range []string{"OnlyShowIn", "NotShowIn"} {
		if v, ok := e.values[key]; ok {
			e.notes = append(e.notes, fmt.Sprintf("%s=%s: depends on the desktop in use", key, v))
		}
	}
	if try, ok := e.values["TryExec"]; ok && try != "" {
		e.notes = append(e.notes, tryExecNote(root, try))
	}
	it.Notes = append(it.Notes, e.notes...)
	return it
}

// state decides how an entry stands: Hidden=true removes it in every session;
// a false desktop enable key switches it off in that desktop.
func state(e *entry) string {
	hidden, _ := e.boolean("Hidden", false, "treated as false, as the spec says")
	if hidden {
		return "hidden"
	}

	st := "enabled"
	for _, key := range enableKeys {
		enabled, ok := e.boolean(key, true, "treated as enabled, as sessions do when they cannot read it")
		if ok && !enabled {
			st = "disabled"
			e.notes = append(e.notes, key+"=false: that desktop does not start it")
		}
	}
	return st
}

// tryExecNote says that an entry starts only when its TryExec program exists,
// and whether an absolute one exists in root.
//
// LIMITATION: a TryExec without a slash is looked up on the session's PATH,
// which we do not know; only absolute ones are checked.
func tryExecNote(root *os.Root, try string) string {
	note := fmt.Sprintf("TryExec=%s: started only when that program exists", try)
	if !path.IsAbs(try) {
		return note
	}
	resolved, err := rootfs.Resolve(root, rootfs.Rel(try))
	if err != nil {
		return note + "; " + rootfs.Describe(err) + ", so the session skips it"
	}
	if fi, err := root.Stat(resolved); err != nil || !fi.Mode().IsRegular() {
		return note + "; not a regular file here, so the session skips it"
	}
	return note + "; present"
}
