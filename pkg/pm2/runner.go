package pm2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Defaults for a zero Runner.
const (
	DefaultTimeout   = 30 * time.Second
	DefaultMaxOutput = 32 << 20
)

// systemPath is appended to the directory of the pm2 binary to make the PATH
// pm2 runs with; node usually sits next to pm2.
const systemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

const maxStderr = 64 << 10

// Runner runs the pm2 CLI against one daemon at a time.
type Runner struct {
	// Bin is the path of pm2; "" looks it up in PATH.
	Bin string
	// Timeout bounds each pm2 run; zero means DefaultTimeout.
	Timeout time.Duration
	// MaxOutput caps the bytes read from pm2's stdout; zero means
	// DefaultMaxOutput. A run that writes more fails.
	MaxOutput int64
}

// run checks that d is live and runs `pm2 args...` as d's user with a clean
// environment (PATH, HOME, PM2_HOME only), returning its stdout. The caller
// owns the stdout bytes and should clear them once parsed: they may hold app
// environments.
func (r Runner) run(ctx context.Context, d Daemon, args ...string) ([]byte, error) {
	bin, err := r.bin()
	if err != nil {
		return nil, err
	}
	live, err := checkLive(d)
	if err != nil {
		return nil, err
	}

	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	maxOut := r.MaxOutput
	if maxOut <= 0 {
		maxOut = DefaultMaxOutput
	}
	stdout := &capped{max: maxOut}
	stderr := &capped{max: maxStderr}

	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{
		"PATH=" + filepath.Dir(bin) + ":" + systemPath,
		"HOME=" + homeOf(d),
		"PM2_HOME=" + d.Home,
	}
	cmd.Dir = d.Home
	cmd.Stdin = nil
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.WaitDelay = 2 * time.Second
	if uint32(d.UID) != uint32(os.Geteuid()) {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{
			Uid: uint32(d.UID), Gid: live.gid, Groups: []uint32{},
		}}
	}

	what := fmt.Sprintf("pm2 %s for %s", strings.Join(args, " "), d.Home)
	err = cmd.Run()
	switch {
	case ctx.Err() != nil:
		clear(stdout.buf.Bytes())
		return nil, fmt.Errorf("%s: no answer within %s: %w", what, timeout, ctx.Err())
	case err != nil:
		clear(stdout.buf.Bytes())
		return nil, fmt.Errorf("%s: %w: %s", what, err, lastLine(stderr.buf.Bytes()))
	case stdout.over:
		clear(stdout.buf.Bytes())
		return nil, fmt.Errorf("%s: output exceeds %d bytes", what, maxOut)
	}
	return stdout.buf.Bytes(), nil
}

// bin returns the absolute path of pm2.
func (r Runner) bin() (string, error) {
	name := r.Bin
	if name == "" {
		name = "pm2"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("find pm2 binary %q: %w", name, err)
	}
	return filepath.Abs(p)
}

// homeOf returns the HOME pm2 runs with: the user's passwd home, else the
// directory that holds a ".pm2" PM2_HOME, else PM2_HOME itself.
func homeOf(d Daemon) string {
	if u, err := user.LookupId(strconv.Itoa(int(d.UID))); err == nil && u.HomeDir != "" {
		return u.HomeDir
	}
	if filepath.Base(d.Home) == ".pm2" {
		return filepath.Dir(d.Home)
	}
	return d.Home
}

// capped keeps the first max bytes written to it and drains the rest, so a
// chatty child never blocks and never fills memory.
type capped struct {
	buf  bytes.Buffer
	max  int64
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	room := c.max - int64(c.buf.Len())
	if int64(len(p)) > room {
		c.over = true
		if room > 0 {
			c.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return c.buf.Write(p)
}

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// lastLine returns the last non-empty line of pm2's stderr, without colour
// codes and at most 200 bytes, for an error message.
func lastLine(b []byte) string {
	lines := strings.Split(ansiEscape.ReplaceAllString(string(b), ""), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			if len(l) > 200 {
				l = l[:200]
			}
			return l
		}
	}
	return "no message"
}

// errNoApp says a daemon has no app of the given name.
var errNoApp = errors.New("no such app")
