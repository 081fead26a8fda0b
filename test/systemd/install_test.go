package systemde2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcanos-dev/arcanos/pkg/testbed"
)

// TestInstallScript runs deploy/install.sh in a real systemd without a
// package: it installs both programs, keeps a config the admin already has,
// enables the units without starting them, and a second run (an upgrade)
// restarts a running controller.
func TestInstallScript(t *testing.T) {
	testbed.RequireRoot(t)
	testbed.RequireSystemdImage(t)
	t.Parallel()
	a := build(t)
	c := startSystemd(t, "none")

	// The tree as a release would ship it: bin/, deploy/, config/.
	c.exec("mkdir", "-p", "/opt/arcanos/config")
	c.copyIn(a.bin, "/opt/arcanos/bin")
	c.copyIn(filepath.Join(a.root, "deploy"), "/opt/arcanos/deploy")
	c.copyIn(filepath.Join(a.root, "config", "authorized-services.json"), "/opt/arcanos/config/")

	const mine = "log_dir: /srv/arcanos-logs\n"
	c.exec("mkdir", "-p", "/etc/arcanos")
	c.writeFile("/etc/arcanos/agent.yaml", mine)

	out := c.exec("/opt/arcanos/deploy/install.sh", "--agent", "--controller")
	if !strings.Contains(out, "kept existing /etc/arcanos/agent.yaml") {
		t.Errorf("install.sh did not say it kept the admin's agent.yaml:\n%s", out)
	}
	if got := c.exec("cat", "/etc/arcanos/agent.yaml"); got != mine {
		t.Errorf("install.sh overwrote /etc/arcanos/agent.yaml:\n%s", got)
	}
	want, err := os.ReadFile(filepath.Join(a.root, "deploy", "etc", "arcanos", "controller.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.exec("cat", "/etc/arcanos/controller.yaml"); got != string(want) {
		t.Errorf("/etc/arcanos/controller.yaml is not the default:\n%s", got)
	}
	for _, b := range []string{"arcanos-agent", "arcanos-controller", "arcanosctl"} {
		c.exec("test", "-x", "/usr/bin/"+b)
	}
	wantModes(t, c, map[string]string{
		"/var/lib/arcanos-agent":      "700 root",
		"/var/log/arcanos":            "750 root",
		"/var/lib/arcanos-controller": "750 arcanos",
	})
	for _, u := range []string{agentUnit, controllerUnit} {
		wantUnit(t, c, u, map[string]string{"UnitFileState": "enabled", "ActiveState": "inactive",
			"FragmentPath": "/etc/systemd/system/" + u})
	}

	c.exec("systemctl", "start", controllerUnit)
	waitCtl(t, c)
	pid := c.unit(controllerUnit, "MainPID")["MainPID"]
	c.exec("/opt/arcanos/deploy/install.sh", "--controller")
	after := wantUnit(t, c, controllerUnit, map[string]string{"ActiveState": "active"})
	if after["MainPID"] == pid {
		t.Errorf("a second install.sh did not restart the running controller (MainPID still %s)", pid)
	}
	wantUnit(t, c, agentUnit, map[string]string{"ActiveState": "inactive"})
}
