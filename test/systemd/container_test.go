package systemde2e

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/testbed"
)

// container is a running container of the systemd test image, removed when
// the test ends.
type container struct {
	t    *testing.T
	name string
}

// startSystemd starts the systemd test image as TESTBED.md says, with the
// given network ("none", or "host" for an agent that must reach a controller
// on this machine's loopback), and waits until its systemd is up. The
// capabilities the agent's unit asks for (CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH)
// are added so that its bounding set is not cut short by Docker's defaults.
func startSystemd(t *testing.T, network string) *container {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	c := &container{t: t, name: "arcanos-e2e-" + hex.EncodeToString(b)}

	out, err := command("", time.Minute, nil, "docker", "run", "-d", "--name", c.name,
		"--label", testbed.Label+"=1", "--network", network, "--cgroupns=private",
		"--cap-add", "SYS_ADMIN", "--cap-add", "SYS_PTRACE", "--cap-add", "DAC_READ_SEARCH",
		"--tmpfs", "/run", "--tmpfs", "/run/lock", "--stop-signal", "SIGRTMIN+3",
		testbed.ImageSystemd, "/lib/systemd/systemd")
	if err != nil {
		t.Fatalf("docker run %s: %v\n%s", testbed.ImageSystemd, err, out)
	}
	t.Cleanup(func() {
		if out, err := command("", time.Minute, nil, "docker", "rm", "-f", c.name); err != nil {
			t.Logf("docker rm -f %s: %v\n%s", c.name, err, out)
		}
	})

	// An exec straight after the start fails while the bus is not up yet.
	var state string
	for range 100 {
		state, err = c.try("systemctl", "is-system-running", "--wait")
		state = strings.TrimSpace(state)
		if state == "running" || state == "degraded" {
			return c
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("systemd in %s never came up: %q %v", c.name, state, err)
	return nil
}

// try runs a command in the container and returns its combined output.
func (c *container) try(args ...string) (string, error) {
	return command("", 2*time.Minute, nil, "docker", append([]string{"exec", c.name}, args...)...)
}

// exec runs a command in the container and fails the test when it fails.
func (c *container) exec(args ...string) string {
	c.t.Helper()
	out, err := c.try(args...)
	if err != nil {
		c.t.Fatalf("in %s: %s: %v\n%s", c.name, strings.Join(args, " "), err, out)
	}
	return out
}

// copyIn copies a file of this machine to dst in the container.
func (c *container) copyIn(src, dst string) {
	c.t.Helper()
	if out, err := command("", time.Minute, nil, "docker", "cp", src, c.name+":"+dst); err != nil {
		c.t.Fatalf("docker cp %s to %s: %v\n%s", src, c.name, err, out)
	}
}

// writeFile writes content to path in the container (through a temp file
// and docker cp, so no shell is involved).
func (c *container) writeFile(path, content string) {
	c.t.Helper()
	f := writeTemp(c.t, content)
	c.copyIn(f, path)
}

// unit returns the given properties of a unit (`systemctl show`).
func (c *container) unit(name string, props ...string) map[string]string {
	c.t.Helper()
	args := []string{"systemctl", "show", name}
	for _, p := range props {
		args = append(args, "-p", p)
	}
	m := map[string]string{}
	for line := range strings.Lines(c.exec(args...)) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			m[k] = v
		}
	}
	return m
}
