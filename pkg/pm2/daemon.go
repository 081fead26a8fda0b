// Package pm2 reads the apps of every PM2 daemon on a host, restarts or
// deletes them, and flushes their log files, always against a daemon that is
// already running: it never starts one.
package pm2

import (
	"path/filepath"
	"regexp"
	"strings"

	"github.com/arcanos-dev/arcanos/pkg/procs"
)

// Daemon is one running PM2 God Daemon.
type Daemon struct {
	PID int32
	// UID is the daemon's real uid; User its passwd name, or the number as
	// text when the uid has no passwd entry.
	UID  int32
	User string
	// Home is the daemon's PM2_HOME, read from its process title
	// "PM2 v7.0.4: God Daemon (/root/.pm2)"; "" when the title was cut and
	// the home could not be read otherwise (Apps then reports unavailable).
	Home string
	// Version is the PM2 version in that title.
	Version string
}

var godTitle = regexp.MustCompile(`^PM2 v(\S+): God Daemon \((/.*)$`)

// parseTitle reads the version and PM2_HOME from a God Daemon's title. Node
// can only write a title as long as the argv the daemon started with, so a
// long home is cut ("PM2 v7.0.4: God Daemon (/tmp/arcanos-pm2-12345/.p"):
// then cut is true and home is only the beginning of the real one.
func parseTitle(title string) (version, home string, cut, ok bool) {
	m := godTitle.FindStringSubmatch(strings.TrimRight(title, "\x00 "))
	if m == nil {
		return "", "", false, false
	}
	if inner, full := strings.CutSuffix(m[2], ")"); full {
		return m[1], filepath.Clean(inner), false, true
	}
	return m[1], m[2], true, true
}

// daemonHome returns the version and home of the God Daemon pid whose title
// is given, resolving a cut home (see homeOfCut); home is "" when a cut one
// cannot be resolved. ok is false when the title is not a God Daemon's.
func daemonHome(pid int32, title string) (version, home string, ok bool) {
	version, home, cut, ok := parseTitle(title)
	if !ok || !cut {
		return version, home, ok
	}
	return version, homeOfCut(pid, home), true
}

// titleOf returns the process title a node program set, which replaces its
// argv: usually the first argument, padded with empty ones.
func titleOf(cmdline []string) string {
	if len(cmdline) == 0 {
		return ""
	}
	if strings.HasPrefix(cmdline[0], "PM2 v") && strings.Contains(cmdline[0], ": God Daemon (") {
		return cmdline[0]
	}
	var parts []string
	for _, a := range cmdline {
		if a != "" {
			parts = append(parts, a)
		}
	}
	return strings.Join(parts, " ")
}

// Discover finds the PM2 daemons in a process list by their titles; it never
// runs pm2. Zombies and kernel threads are left out. Only for a daemon whose
// title was cut does it read beyond the list: the target of the daemon's
// stdout, which PM2 points at HOME/pm2.log.
//
// A title is what a process says of itself: any user can take a God Daemon's
// title. Apps checks the rest (node executable, uid, pm2.pid, a connect to
// rpc.sock) before it trusts one.
func Discover(ps []procs.Process) []Daemon {
	var out []Daemon
	for _, p := range ps {
		if p.Zombie || p.KernelThread {
			continue
		}
		// Comm holds only "PM2 v7.0.4: God" (15 bytes): the home is in argv.
		version, home, ok := daemonHome(p.PID, titleOf(p.Cmdline))
		if !ok {
			continue
		}
		out = append(out, Daemon{PID: p.PID, UID: p.UID, User: p.User, Home: home, Version: version})
	}
	return out
}
