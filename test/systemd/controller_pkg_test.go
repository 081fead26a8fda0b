package systemde2e

import (
	"strings"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/testbed"
)

const controllerUnit = "arcanos-controller.service"

// TestControllerPackageUnderSystemd installs the controller's .deb into a
// real systemd: the arcanos user, the data directory it owns, the unit
// enabled but not started; then starts it under its hardened unit, talks to
// it with arcanosctl, stops it cleanly and purges the package, which keeps
// the data (the fleet's CA).
func TestControllerPackageUnderSystemd(t *testing.T) {
	testbed.RequireRoot(t)
	testbed.RequireSystemdImage(t)
	t.Parallel()
	a := build(t)
	ctlDeb := debPackage(t, a, "controller", a.version)
	c := startSystemd(t, "none")
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := c.try("journalctl", "-u", controllerUnit, "--no-pager", "-n", "40")
			t.Logf("journal of %s:\n%s", controllerUnit, out)
		}
	})

	c.copyIn(ctlDeb(), "/tmp/arcanos-controller.deb")
	c.exec("dpkg", "-i", "/tmp/arcanos-controller.deb")

	user := strings.TrimSpace(c.exec("getent", "passwd", "arcanos"))
	if f := strings.Split(user, ":"); len(f) != 7 || f[5] != "/var/lib/arcanos-controller" || f[6] != "/usr/sbin/nologin" {
		t.Errorf("arcanos user = %q, want home /var/lib/arcanos-controller and shell /usr/sbin/nologin", user)
	}
	wantModes(t, c, map[string]string{"/var/lib/arcanos-controller": "750 arcanos"})
	wantUnit(t, c, controllerUnit, map[string]string{"UnitFileState": "enabled", "ActiveState": "inactive"})
	if cf := c.exec("dpkg-query", "-W", "-f=${Conffiles}", "arcanos-controller"); !strings.Contains(cf, "/etc/arcanos/controller.yaml ") {
		t.Errorf("/etc/arcanos/controller.yaml is not a conffile: %q", cf)
	}

	c.exec("systemctl", "start", controllerUnit)
	waitCtl(t, c)
	u := wantUnit(t, c, controllerUnit, map[string]string{"ActiveState": "active"})
	status := c.exec("cat", "/proc/"+u["MainPID"]+"/status")
	for _, want := range []string{"CapEff:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2"} {
		if !strings.Contains(status, want+"\n") {
			t.Errorf("controller process status lacks %q:\n%s", want, status)
		}
	}
	if owner := strings.TrimSpace(c.exec("stat", "-c", "%U", "/proc/"+u["MainPID"])); owner != "arcanos" {
		t.Errorf("controller runs as %q, want arcanos", owner)
	}
	wantModes(t, c, map[string]string{"/var/lib/arcanos-controller/arcanos.db": "600 arcanos"})

	c.exec("systemctl", "stop", controllerUnit)
	wantUnit(t, c, controllerUnit, map[string]string{"ActiveState": "inactive", "Result": "success"})

	c.exec("dpkg", "--purge", "arcanos-controller")
	if _, err := c.try("test", "-e", "/etc/systemd/system/multi-user.target.wants/"+controllerUnit); err == nil {
		t.Errorf("purge left the unit's enablement symlink")
	}
	c.exec("test", "-s", "/var/lib/arcanos-controller/pki/ca.crt") // the CA is kept
}

// waitCtl waits until arcanosctl in the container, as root with the first
// operator's config, lists the (empty) fleet.
func waitCtl(t *testing.T, c *container) {
	t.Helper()
	var out string
	var err error
	for range 100 {
		out, err = c.try("env", "ARCANOS_CONFIG=/var/lib/arcanos-controller/arcanosctl.yaml",
			"arcanosctl", "hosts", "list", "-o", "json")
		if err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("arcanosctl never reached the controller in %s: %v\n%s", c.name, err, out)
}
