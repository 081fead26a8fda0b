// Package unitfiles reads systemd unit files straight from a root (this
// host's "/", a container's /proc/PID/root, a test tree) without asking
// systemd: every unit of the system and user search paths, its state
// (enabled, disabled, static, masked, alias, linked, indirect, generated,
// transient; bad or not-found when broken), what it starts once drop-ins
// are applied, and who it runs as. Symlinks are resolved inside the root
// by hand and never followed out of it.
//
// Scopes: "system" for the system manager; "user" for units every user
// manager sees (etc/systemd/user, usr/lib/systemd/user, ...), reported once;
// "user:NAME" for units a user's own dirs (~/.config/systemd/user, ...)
// add, override, enable or mask.
package unitfiles

import (
	"context"
	"fmt"
	"os"

	"github.com/arcanos-dev/arcanos/pkg/startup"
)

// Kind is the startup.Item kind of unit files.
const Kind = "unit_file"

// Scan reads every unit file of the system and user search paths inside
// root. Problems with one file or directory become Notes (or an item with
// State "unreadable" naming the directory); only a cancelled ctx fails the
// scan.
func Scan(ctx context.Context, root *os.Root, users []startup.User) ([]startup.Item, error) {
	s := &scanner{
		root:     root,
		uids:     startup.UserNames(users),
		cache:    map[string]*layerData{},
		reported: map[string]bool{},
	}

	var items []startup.Item
	add := func(name string, specs []dirSpec, runAs string, onlyOwn bool) error {
		sc, problems, err := s.scope(ctx, name, specs)
		if err != nil {
			return err
		}
		items = append(items, problems...)
		if onlyOwn && !sc.hasOwn() {
			return nil
		}
		sc.runAs = runAs
		for _, n := range sc.names() {
			if err := ctx.Err(); err != nil {
				return err
			}
			it, ok, touched := s.unit(sc, n)
			if ok && (!onlyOwn || touched) {
				items = append(items, it)
			}
		}
		return nil
	}

	if err := add("system", systemDirs, "", false); err != nil {
		return nil, fmt.Errorf("scan unit files: %w", err)
	}
	if err := add("user", globalUserDirs, "", false); err != nil {
		return nil, fmt.Errorf("scan user unit files: %w", err)
	}
	homes := map[string]bool{}
	for _, u := range users {
		home := startup.Rel(u.Home)
		if home == "" || homes[home] {
			continue
		}
		homes[home] = true
		if err := add("user:"+u.Name, userDirs(u), u.Name, true); err != nil {
			return nil, fmt.Errorf("scan unit files of user %s: %w", u.Name, err)
		}
	}
	return items, nil
}
