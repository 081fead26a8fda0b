package systemd_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/testbed"
)

// container is one systemd container shared by the tests of this package:
// started on first use, removed by TestMain.
type container struct {
	name string
	pid  int
}

var (
	shared     *container
	sharedErr  error
	sharedOnce sync.Once
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.remove()
	}
	os.Exit(code)
}

// systemdContainer returns the shared container, booted, with the test
// units of setupUnits in place.
func systemdContainer(t *testing.T) *container {
	t.Helper()
	testbed.RequireSystemdImage(t)
	sharedOnce.Do(func() { shared, sharedErr = startContainer() })
	if sharedErr != nil {
		t.Fatalf("systemd container: %v", sharedErr)
	}
	return shared
}

// bus is the container's system bus, as dialled from this host.
func (c *container) bus() string {
	return fmt.Sprintf("unix:path=/proc/%d/root/run/dbus/system_bus_socket", c.pid)
}

func startContainer() (*container, error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	c := &container{name: "arcanos-test-" + hex.EncodeToString(b)}

	if _, err := docker("run", "-d", "--name", c.name, "--label", testbed.Label+"=1",
		"--network", "none", "--cgroupns=private", "--cap-add", "SYS_ADMIN",
		"--tmpfs", "/run", "--tmpfs", "/run/lock", "--stop-signal", "SIGRTMIN+3",
		testbed.ImageSystemd, "/lib/systemd/systemd"); err != nil {
		c.remove()
		return nil, err
	}
	if err := c.waitBooted(); err != nil {
		c.remove()
		return nil, err
	}
	out, err := docker("inspect", "-f", "{{.State.Pid}}", c.name)
	if err == nil {
		c.pid, err = strconv.Atoi(strings.TrimSpace(out))
	}
	if err == nil {
		_, err = c.sh(setupUnits)
	}
	if err != nil {
		c.remove()
		return nil, err
	}
	return c, nil
}

// waitBooted polls until systemd says the boot is over. An exec straight
// after start can fail while the bus is not up yet.
func (c *container) waitBooted() error {
	var last string
	for range 100 {
		out, _ := docker("exec", c.name, "systemctl", "is-system-running", "--wait")
		last = strings.TrimSpace(out)
		if last == "running" || last == "degraded" {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("container %s did not boot: is-system-running says %q", c.name, last)
}

func (c *container) remove() {
	_, _ = docker("rm", "-f", c.name)
}

// sh runs a script inside the container (test setup only).
func (c *container) sh(script string) (string, error) {
	return docker("exec", c.name, "sh", "-c", script)
}

func (c *container) show(unit, prop string) string {
	out, _ := docker("exec", c.name, "systemctl", "show", "-p", prop, "--value", unit)
	return strings.TrimSpace(out)
}

func docker(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// setupUnits writes the units the tests look at: one running and enabled,
// one failing with exit-code, one masked over a vendor file, one enabled but
// never started, one disabled and never loaded, one with a drop-in.
const setupUnits = `set -e
cd /etc/systemd/system
cat > arcanos-sleep.service <<'U'
[Unit]
Description=arcanos test sleeper
[Service]
ExecStart=/bin/sleep \
    infinity
[Install]
WantedBy=multi-user.target
U
cat > arcanos-fail.service <<'U'
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'exit 3'
U
cat > /usr/lib/systemd/system/arcanos-masked.service <<'U'
[Service]
ExecStart=/bin/sleep infinity
U
cat > arcanos-stopped.service <<'U'
[Service]
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target
U
cat > arcanos-idle.service <<'U'
[Service]
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target
U
mkdir -p arcanos-sleep.service.d
cat > arcanos-sleep.service.d/override.conf <<'U'
[Service]
ExecStart=
ExecStart=/bin/sleep 1000000
U
systemctl daemon-reload
systemctl mask arcanos-masked.service
systemctl enable --now arcanos-sleep.service
systemctl enable arcanos-stopped.service
systemctl start arcanos-fail.service || true
systemctl is-failed arcanos-fail.service
`
