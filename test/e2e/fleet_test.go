package e2e

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// cliTimeout bounds one arcanosctl or enroll command.
const cliTimeout = 3 * time.Minute

// controllerOpts shapes a test's controller.
type controllerOpts struct {
	// listen is the address to serve on; default a unix socket in the
	// test's directory.
	listen string
	// args are extra controller flags.
	args []string
	// netns runs the controller (and arcanosctl) in this network namespace.
	netns string
}

// controller is a real arcanos-controller process on its own data directory.
type controller struct {
	t       *testing.T
	dir     string
	dataDir string
	addr    string
	opts    controllerOpts
	proc    *proc
	starts  int
}

// result is what a command printed and its exit code.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, cut(r.stdout, 3000), cut(r.stderr, 3000))
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// startController starts a controller on a new data directory and waits
// until arcanosctl gets an answer from it.
func startController(t *testing.T, opts controllerOpts) *controller {
	t.Helper()
	dir := t.TempDir()
	c := &controller{t: t, dir: dir, dataDir: filepath.Join(dir, "data"), addr: opts.listen, opts: opts}
	if c.addr == "" {
		c.addr = "unix://" + filepath.Join(dir, "ctl.sock")
	}
	c.start()
	return c
}

// start starts (or restarts) the controller process on the same data
// directory and address.
func (c *controller) start() {
	t := c.t
	t.Helper()
	c.starts++
	args := append(c.prefix(), bin.controller, "--data-dir", c.dataDir, "--listen", c.addr)
	args = append(args, c.opts.args...)
	logPath := filepath.Join(c.dir, fmt.Sprintf("controller-%d.log", c.starts))
	c.proc = startProc(t, fmt.Sprintf("controller (start %d)", c.starts), logPath, nil, args...)

	var last result
	ok := poll(60*time.Second, func() bool {
		if c.proc.exited() {
			t.Fatalf("controller exited at start: %v\n%s", c.proc.err, tail(logPath, 30))
		}
		if _, err := os.Stat(c.ctlConfig()); err != nil {
			return false
		}
		last = c.ctl("hosts", "list")
		return last.code == 0
	})
	if !ok {
		t.Fatalf("controller not answering after 60s: %s", last)
	}
}

// prefix runs a command in the controller's network namespace, if any.
func (c *controller) prefix() []string {
	if c.opts.netns == "" {
		return nil
	}
	return []string{"ip", "netns", "exec", c.opts.netns}
}

func (c *controller) ctlConfig() string { return filepath.Join(c.dataDir, "arcanosctl.yaml") }

// ctl runs arcanosctl as the controller's first operator.
func (c *controller) ctl(args ...string) result {
	c.t.Helper()
	full := append(c.prefix(), bin.ctl)
	return run(c.t, []string{"ARCANOS_CONFIG=" + c.ctlConfig()}, append(full, args...)...)
}

// run runs a command to its end and returns its output and exit code.
func run(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(baseEnv(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	default:
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s did not end within %s: %s", strings.Join(args, " "), cliTimeout, res)
	}
	return res
}

// purge runs arcanosctl purge with -o json and returns its result and the
// events it printed.
func (c *controller) purge(args ...string) (result, []*arcanosv1.PurgeEvent) {
	c.t.Helper()
	res := c.ctl(append(append([]string{"purge"}, args...), "-o", "json")...)
	return res, parseEvents(c.t, res.stdout)
}

// parseEvents reads arcanosctl's JSON lines.
func parseEvents(t *testing.T, out string) []*arcanosv1.PurgeEvent {
	t.Helper()
	var evs []*arcanosv1.PurgeEvent
	for line := range strings.Lines(out) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		ev := &arcanosv1.PurgeEvent{}
		if err := protojson.Unmarshal([]byte(line), ev); err != nil {
			t.Fatalf("event line is not a PurgeEvent: %v\n%s", err, cut(line, 500))
		}
		evs = append(evs, ev)
	}
	return evs
}

// finalStates returns each host's final state and its detail among evs.
func finalStates(evs []*arcanosv1.PurgeEvent) (map[string]arcanosv1.HostRunState, map[string]string) {
	states, details := map[string]arcanosv1.HostRunState{}, map[string]string{}
	for _, ev := range evs {
		switch ev.GetState() {
		case arcanosv1.HostRunState_HOST_RUN_STATE_QUEUED, arcanosv1.HostRunState_HOST_RUN_STATE_RUNNING,
			arcanosv1.HostRunState_HOST_RUN_STATE_PHASE_DONE:
			continue
		}
		states[ev.GetHost()], details[ev.GetHost()] = ev.GetState(), ev.GetDetail()
	}
	return states, details
}

// runID returns the run id the events carry.
func runID(t *testing.T, evs []*arcanosv1.PurgeEvent) string {
	t.Helper()
	if len(evs) == 0 || evs[0].GetRunId() == "" {
		t.Fatalf("no event names the run")
	}
	return evs[0].GetRunId()
}

// getRun reads a run and its results with arcanosctl runs show -o json.
func (c *controller) getRun(id string) *arcanosv1.GetRunResponse {
	c.t.Helper()
	res := c.ctl("runs", "show", id, "-o", "json")
	if res.code != 0 {
		c.t.Fatalf("runs show %s: %s", id, res)
	}
	out := &arcanosv1.GetRunResponse{}
	if err := protojson.Unmarshal([]byte(res.stdout), out); err != nil {
		c.t.Fatalf("runs show %s -o json: %v\n%s", id, err, cut(res.stdout, 500))
	}
	return out
}

// hosts lists the enrolled hosts by host id.
func (c *controller) hosts() map[string]*arcanosv1.Host {
	c.t.Helper()
	res := c.ctl("hosts", "list", "-o", "json")
	if res.code != 0 {
		c.t.Fatalf("hosts list: %s", res)
	}
	out := &arcanosv1.ListHostsResponse{}
	if err := protojson.Unmarshal([]byte(res.stdout), out); err != nil {
		c.t.Fatalf("hosts list -o json: %v\n%s", err, cut(res.stdout, 500))
	}
	hosts := map[string]*arcanosv1.Host{}
	for _, h := range out.GetHosts() {
		hosts[h.GetHostId()] = h
	}
	return hosts
}

// waitOnline waits until each named host's online state is the one given.
func (c *controller) waitOnline(d time.Duration, want map[string]bool) {
	c.t.Helper()
	var got map[string]bool
	ok := poll(d, func() bool {
		got = map[string]bool{}
		hosts := c.hosts()
		for id := range want {
			if h, ok := hosts[id]; ok {
				got[id] = h.GetOnline()
			}
		}
		return maps.Equal(got, want)
	})
	if !ok {
		c.t.Fatalf("hosts online after %s: %v, want %v", d, got, want)
	}
}

// token creates an enrollment token and returns it with the CA fingerprint.
func (c *controller) token(args ...string) (token, fingerprint string) {
	c.t.Helper()
	res := c.ctl(append([]string{"token", "create", "-o", "json"}, args...)...)
	if res.code != 0 {
		c.t.Fatalf("token create: %s", res)
	}
	out := &arcanosv1.CreateEnrollmentTokenResponse{}
	if err := protojson.Unmarshal([]byte(res.stdout), out); err != nil {
		c.t.Fatalf("token create -o json: %v\n%s", err, res.stdout)
	}
	if out.GetToken() == "" || !strings.HasPrefix(out.GetCaFingerprint(), "sha256:") {
		c.t.Fatalf("token create gave token %q, fingerprint %q", out.GetToken(), out.GetCaFingerprint())
	}
	return out.GetToken(), out.GetCaFingerprint()
}

// poll calls cond every 100ms until it holds or d passed.
func poll(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sortedKeys returns a map's keys in order, for messages.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
