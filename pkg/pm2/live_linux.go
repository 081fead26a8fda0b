package pm2

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/source"
)

// procRoot is where checkLive reads processes.
const procRoot = "/proc"

// dialTimeout bounds checkLive's connect to a daemon's rpc.sock. A socket
// nothing listens on refuses at once; only a daemon too busy to accept
// waits this long.
const dialTimeout = time.Second

// liveDaemon is what checkLive learnt about a daemon it found running.
type liveDaemon struct {
	gid uint32
}

// checkLive makes sure, just before pm2 runs, that d still is a running God
// Daemon for d.Home owned by d.UID: a node process with the daemon's title,
// named by Home/pm2.pid, that accepts a connection on Home/rpc.sock. Any pm2
// command run without such a daemon would start one, so every miss is a
// source.UnavailableError and pm2 is not run. A title and a socket file
// alone prove nothing: any program can take the title, and a daemon killed
// with SIGKILL leaves its rpc.sock behind.
//
// LIMITATION: a daemon run by another runtime than node (bun) is refused.
//
// LIMITATION: the daemon can still exit between this check and pm2's
// connect; pm2 would then start a new daemon for d.Home as d.UID. The window
// is the few milliseconds it takes node to load pm2.
func checkLive(d Daemon) (liveDaemon, error) {
	none := func(why string, args ...any) error {
		return source.Unavailable("no PM2 daemon running for %s: %s", d.Home, fmt.Sprintf(why, args...))
	}
	if d.PID <= 0 || !filepath.IsAbs(d.Home) {
		return liveDaemon{}, none("no daemon pid or home")
	}
	dir := filepath.Join(procRoot, strconv.Itoa(int(d.PID)))

	raw, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		return liveDaemon{}, none("pid %d is gone", d.PID)
	}
	_, home, ok := daemonHome(d.PID, titleOf(strings.Split(string(bytes.TrimRight(raw, "\x00")), "\x00")))
	if !ok || home == "" || home != filepath.Clean(d.Home) {
		return liveDaemon{}, none("pid %d is not its God Daemon", d.PID)
	}

	if err := runsNode(dir); err != nil {
		return liveDaemon{}, none("pid %d %v", d.PID, err)
	}

	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return liveDaemon{}, none("pid %d is gone", d.PID)
	}
	uid, gid, err := realIDs(status)
	if err != nil {
		return liveDaemon{}, fmt.Errorf("read ids of pm2 daemon %d: %w", d.PID, err)
	}
	if uid != uint32(d.UID) {
		return liveDaemon{}, none("pid %d runs as uid %d, not %d", d.PID, uid, d.UID)
	}

	if err := ownedBy(filepath.Join(d.Home, "rpc.sock"), os.ModeSocket, uid); err != nil {
		return liveDaemon{}, none("%v", err)
	}
	if err := ownedBy(filepath.Join(d.Home, "pm2.pid"), 0, uid); err != nil {
		return liveDaemon{}, none("%v", err)
	}
	pidText, err := os.ReadFile(filepath.Join(d.Home, "pm2.pid"))
	if err != nil {
		return liveDaemon{}, none("read pm2.pid: %v", err)
	}
	if strings.TrimSpace(string(pidText)) != strconv.Itoa(int(d.PID)) {
		return liveDaemon{}, none("pm2.pid names %q, not pid %d", strings.TrimSpace(string(pidText)), d.PID)
	}

	// Last, as close to pm2's own connect as possible.
	conn, err := net.DialTimeout("unix", filepath.Join(d.Home, "rpc.sock"), dialTimeout)
	if err != nil {
		return liveDaemon{}, source.UnavailableWrap(err, "PM2 daemon for %s does not answer on rpc.sock", d.Home)
	}
	_ = conn.Close()
	return liveDaemon{gid: gid}, nil
}

// runsNode checks that the process at dir (/proc/PID) runs node: the
// base name of its executable starts with "node" (node, nodejs, node20).
// The title cannot tell: node replaced the daemon's argv with it.
func runsNode(dir string) error {
	exe, err := os.Readlink(filepath.Join(dir, "exe"))
	if err != nil {
		return fmt.Errorf("has no readable executable: %w", err)
	}
	// An upgraded node binary still runs as "/usr/bin/node (deleted)".
	if base := filepath.Base(strings.TrimSuffix(exe, " (deleted)")); !strings.HasPrefix(base, "node") {
		return fmt.Errorf("is not node: it runs %s", exe)
	}
	return nil
}

// homeOfCut resolves the home of a daemon whose title holds only its
// beginning, from the file its stdout writes to: PM2 starts the daemon with
// stdout on HOME/pm2.log. It returns "" unless that file extends the title.
//
// LIMITATION: it needs the right to read /proc/PID/fd (root, or the daemon's
// own user), and a daemon inside a container names a path in the
// container's mounts; such daemons are listed without a home.
func homeOfCut(pid int32, partial string) string {
	link, err := os.Readlink(filepath.Join(procRoot, strconv.Itoa(int(pid)), "fd", "1"))
	if err != nil || filepath.Base(link) != "pm2.log" {
		return ""
	}
	home := filepath.Dir(link)
	if !filepath.IsAbs(home) || !strings.HasPrefix(home, partial) {
		return ""
	}
	return home
}

// ownedBy checks that path is, without following a symlink, a file of the
// given type (0 for regular) owned by uid.
func ownedBy(path string, typ os.FileMode, uid uint32) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if fi.Mode().Type() != typ {
		return fmt.Errorf("%s is a %v, not a %v", path, fi.Mode().Type(), typ)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid != uid {
		return fmt.Errorf("%s is not owned by uid %d", path, uid)
	}
	return nil
}

// realIDs reads the real uid and gid from /proc/PID/status.
func realIDs(status []byte) (uid, gid uint32, err error) {
	var seen int
	for _, line := range strings.Split(string(status), "\n") {
		key, rest, ok := strings.Cut(line, ":")
		if !ok || (key != "Uid" && key != "Gid") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, 0, fmt.Errorf("empty %s line", key)
		}
		n, err := strconv.ParseUint(f[0], 10, 32)
		if err != nil {
			return 0, 0, fmt.Errorf("%s line: %w", key, err)
		}
		if key == "Uid" {
			uid = uint32(n)
		} else {
			gid = uint32(n)
		}
		seen++
	}
	if seen != 2 {
		return 0, 0, fmt.Errorf("no Uid/Gid lines")
	}
	return uid, gid, nil
}
