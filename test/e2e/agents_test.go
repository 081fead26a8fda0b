package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// agentOpts shapes one test agent.
type agentOpts struct {
	// labels are given at enrollment, k=v,k2=v2.
	labels string
	// dockerHost is the Docker engine address; default a socket that does
	// not exist, so the Docker source is unavailable.
	dockerHost string
	// settings is YAML added to the agent's settings file (the file already
	// sets fleet.backoff_min and fleet.backoff_max).
	settings string
	// netns runs the agent (and its enrollment) in this network namespace.
	netns string
	// controller is the address to enroll with; default the controller's.
	controller string
}

// agent is one enrolled arcanos-agent, run as pid 1 of its own PID
// namespace, without --allow-real: real purges are always refused.
type agent struct {
	t        *testing.T
	c        *controller
	host     string
	stateDir string
	opts     agentOpts
	proc     *proc
	starts   int
}

// agentSettings makes reconnection quick: the tests restart controllers and
// cut networks, and wait for the agents to come back.
const agentSettings = `fleet:
  backoff_min: 100ms
  backoff_max: 1s
`

// enroll creates a token for host and enrolls a new agent with it.
func (c *controller) enroll(host string, opts agentOpts) *agent {
	c.t.Helper()
	a := &agent{t: c.t, c: c, host: host, stateDir: filepath.Join(c.dir, "agents", host), opts: opts}
	token, fp := c.token("--hostname", host)
	res := a.enrollWith(token, fp)
	if res.code != 0 {
		c.t.Fatalf("enroll %s: %s", host, res)
	}
	return a
}

// enrollWith runs arcanos-agent enroll with a token and fingerprint.
func (a *agent) enrollWith(token, fingerprint string) result {
	a.t.Helper()
	addr := a.opts.controller
	if addr == "" {
		addr = a.c.addr
	}
	args := append(a.prefix(), bin.agent, "enroll", "--controller", addr, "--token", token,
		"--ca-fingerprint", fingerprint, "--hostname", a.host, "--state-dir", a.stateDir)
	if a.opts.labels != "" {
		args = append(args, "--labels", a.opts.labels)
	}
	return run(a.t, nil, args...)
}

func (a *agent) prefix() []string {
	if a.opts.netns == "" {
		return nil
	}
	return []string{"ip", "netns", "exec", a.opts.netns}
}

// startAgent enrolls host and starts its agent.
func (c *controller) startAgent(host string, opts agentOpts) *agent {
	c.t.Helper()
	a := c.enroll(host, opts)
	a.start()
	return a
}

// start runs `arcanos-agent run` in a new PID namespace. No --allow-real:
// this agent refuses every real purge.
func (a *agent) start(extra ...string) {
	t := a.t
	t.Helper()
	a.starts++
	settings := filepath.Join(a.stateDir, "..", a.host+".yaml")
	if err := os.WriteFile(settings, []byte(agentSettings+a.opts.settings), 0o600); err != nil {
		t.Fatalf("agent settings: %v", err)
	}
	docker := a.opts.dockerHost
	if docker == "" {
		docker = "unix:///nonexistent.sock"
	}
	args := []string{bin.agent, "run", "--config", settings, "--state-dir", a.stateDir,
		"--log-dir", filepath.Join(a.stateDir, "logs"),
		"--docker-host", docker, "--systemd-bus", "unix:path=/nonexistent.sock",
		"--pm2-bin", "/nonexistent/pm2"}
	args = append(args, extra...)
	name := fmt.Sprintf("agent %s (start %d)", a.host, a.starts)
	logPath := filepath.Join(a.stateDir, "..", fmt.Sprintf("%s-%d.log", a.host, a.starts))
	a.proc = startInPIDNamespace(t, name, logPath, nil, a.prefix(), args...)
}

// waitLog waits until the agent's log holds every one of parts on one line.
func (a *agent) waitLog(d time.Duration, parts ...string) {
	a.t.Helper()
	ok := poll(d, func() bool {
		for line := range strings.Lines(a.proc.log()) {
			if containsAll(line, parts...) {
				return true
			}
		}
		return false
	})
	if !ok {
		a.t.Fatalf("agent %s: no log line with %q after %s:\n%s", a.host, parts, d, tail(a.proc.logPath, 20))
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// hangingDocker serves a unix socket that accepts connections and never
// answers: an agent pointed at it waits for its Docker source until the
// source timeout. It returns the docker host address.
func hangingDocker(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "docker.sock")
	lis, err := net.Listen("unix", path)
	if err != nil {
		t.Fatalf("hanging docker socket: %v", err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			conn, err := lis.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		lis.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "unix://" + path
}
