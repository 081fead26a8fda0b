// Package cron reports cron's @reboot entries: commands cron runs once when it
// starts at boot.
package cron

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"syscall"

	"github.com/arcanos-dev/arcanos/pkg/rootfs"
	"github.com/arcanos-dev/arcanos/pkg/startup"
)

// Kind is the startup.Item kind this package reports.
const Kind = "cron"

const maxFile = 1 << 20

// cronDName is the name rule Debian's cron applies to files in /etc/cron.d
// (run-parts names); it skips the others, such as x.dpkg-old or x~.
var cronDName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// crontab is one file to read and how cron reads it.
type crontab struct {
	rel    string
	system bool   // lines carry a user field
	user   string // owner of a user crontab (its file name)
	skip   string // why cron ignores the file, if it does
}

// Scan reports one Item per @reboot line in etc/crontab, etc/cron.d/* and the
// user crontabs in var/spool/cron/crontabs (Debian) and var/spool/cron
// (Red Hat). Lines of files cron would ignore are reported with State
// "ignored" and the reason. Only ctx ending gives an error.
//
// LIMITATION: the rules for ignored files (names, owner, mode) are Debian
// cron's; cronie and other crons differ in detail.
func Scan(ctx context.Context, root *os.Root, users []startup.User) ([]startup.Item, error) {
	byName := map[string]startup.User{}
	for _, u := range users {
		if _, ok := byName[u.Name]; !ok {
			byName[u.Name] = u
		}
	}

	tabs := []crontab{{rel: "etc/crontab", system: true}}
	for _, name := range listFiles(root, "etc/cron.d") {
		c := crontab{rel: "etc/cron.d/" + name, system: true}
		if !cronDName.MatchString(name) {
			c.skip = "cron skips files in /etc/cron.d whose name holds a dot, ~ or other characters outside [A-Za-z0-9_-]"
		}
		tabs = append(tabs, c)
	}
	for _, dir := range []string{"var/spool/cron/crontabs", "var/spool/cron"} {
		for _, name := range listFiles(root, dir) {
			tabs = append(tabs, crontab{rel: dir + "/" + name, user: name})
		}
	}

	names := startup.UserNames(users)
	var items []startup.Item
	for _, c := range tabs {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("scan crontabs: %w", err)
		}
		items = append(items, readCrontab(root, c, byName, names)...)
	}
	return items, nil
}

// listFiles names the entries of dir that are not directories; a missing or
// unreadable directory lists nothing.
func listFiles(root *os.Root, dir string) []string {
	entries, _, err := rootfs.ReadDir(root, dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, de := range entries {
		if !de.IsDir() {
			out = append(out, de.Name())
		}
	}
	return out
}

// readCrontab returns the Items of one crontab file. A file that cannot be
// read is one Item with State "unreadable".
func readCrontab(root *os.Root, c crontab, byName map[string]startup.User,
	names map[uint32]string) []startup.Item {
	base := startup.Item{Kind: Kind, Name: rootfs.Host(c.rel), Path: rootfs.Host(c.rel), Scope: "system"}
	if !c.system {
		base.Scope = "user:" + c.user
	}
	var notes []string
	if c.skip != "" {
		notes = append(notes, c.skip)
	}

	data, resolved, err := rootfs.ReadFile(root, c.rel, maxFile)
	if errors.Is(err, fs.ErrNotExist) && resolved == "" && c.rel == "etc/crontab" {
		return nil
	}
	if resolved != "" && resolved != c.rel {
		notes = append(notes, "symlink to "+rootfs.Host(resolved))
	}
	if err != nil {
		base.State = "unreadable"
		base.Notes = append(notes, "not read: "+rootfs.Describe(err))
		return []startup.Item{base}
	}
	if owner, mode, sum, err := startup.FileFacts(root, resolved, names); err == nil {
		base.Owner, base.Mode, base.SHA256 = owner, mode, sum
	}
	notes = append(notes, checkFile(root, resolved, c, byName)...)

	reboots, fileNotes := parseReboots(data, c.system)
	notes = append(notes, fileNotes...)
	state := "enabled"
	if c.skip != "" || ignoredByChecks(notes) {
		state = "ignored"
	}

	items := make([]startup.Item, 0, len(reboots))
	for _, r := range reboots {
		it := base
		it.Name = fmt.Sprintf("%s:%d", base.Path, r.line)
		it.State = state
		it.Starts = []string{r.command}
		it.RunAs = c.user
		it.Notes = append([]string(nil), notes...)
		if c.system {
			it.RunAs = r.user
			if _, ok := byName[r.user]; !ok && r.user != "" {
				it.Notes = append(it.Notes, fmt.Sprintf("user %s is not in /etc/passwd: cron cannot run it", r.user))
			}
		}
		if len(r.envs) > 0 {
			it.Notes = append(it.Notes, "environment set above this line (values not kept): "+strings.Join(r.envs, ", "))
		}
		it.Notes = append(it.Notes, r.notes...)
		items = append(items, it)
	}
	return items
}

// ignoredPrefix starts every note from checkFile that makes cron skip a file.
const ignoredPrefix = "cron ignores this file: "

func ignoredByChecks(notes []string) bool {
	for _, n := range notes {
		if strings.HasPrefix(n, ignoredPrefix) {
			return true
		}
	}
	return false
}

// checkFile applies cron's checks of owner and mode to a crontab.
func checkFile(root *os.Root, resolved string, c crontab, byName map[string]startup.User) []string {
	fi, err := root.Stat(resolved)
	if err != nil {
		return []string{"stat: " + rootfs.Describe(err)}
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}

	var notes []string
	if fi.Mode().Perm()&0o022 != 0 {
		notes = append(notes, ignoredPrefix+"group- or world-writable")
	}
	if c.system {
		if st.Uid != 0 {
			notes = append(notes, fmt.Sprintf("%snot owned by root (uid %d)", ignoredPrefix, st.Uid))
		}
		return notes
	}

	u, ok := byName[c.user]
	if !ok {
		return append(notes, fmt.Sprintf("%sno user %s in /etc/passwd", ignoredPrefix, c.user))
	}
	if st.Uid != 0 && st.Uid != u.UID {
		notes = append(notes, fmt.Sprintf("%sowned by uid %d, neither root nor %s", ignoredPrefix, st.Uid, c.user))
	}
	return notes
}
