// Package testbed lets tests ask for the real components they need (a Docker
// engine, PM2, the systemd test image, root, PID namespaces). Under `make test`
// a missing component skips the test with a line naming it; under `make ci`
// (ARCANOS_TESTBED_STRICT=1) it fails the test instead, so CI never passes on
// skipped integration tests.
package testbed

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// ImageSystemd is the docker image with a real systemd built by
// scripts/testbed-setup.sh.
const ImageSystemd = "arcanos-systemd-test"

// Label is put on every Docker object a test creates, so that only those are
// ever touched or removed by tests.
const Label = "arcanos-test"

// Strict reports whether a missing component must fail the test.
func Strict() bool { return os.Getenv("ARCANOS_TESTBED_STRICT") == "1" }

// Missing skips the test, or fails it in strict mode, naming what is missing.
func Missing(t testing.TB, what, why string) {
	t.Helper()
	if Strict() {
		t.Fatalf("testbed: %s is missing (%s); run scripts/testbed-setup.sh", what, why)
	}
	t.Skipf("testbed: %s is missing (%s); run scripts/testbed-setup.sh or make ci", what, why)
}

// RequireRoot needs the test to run as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "root", "the test needs uid 0")
	}
}

// RequireCommand needs an executable on PATH and returns its path.
func RequireCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name, err.Error())
	}
	return p
}

// RequireUnshare needs root and unshare(1) to start a PID namespace.
func RequireUnshare(t testing.TB) string {
	t.Helper()
	RequireRoot(t)
	return RequireCommand(t, "unshare")
}

// RequireDocker needs a running Docker engine reachable through the docker CLI.
func RequireDocker(t testing.TB) {
	t.Helper()
	RequireCommand(t, "docker")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		Missing(t, "docker engine", string(out))
	}
}

// RequirePM2 needs pm2 on PATH and returns its path.
func RequirePM2(t testing.TB) string {
	t.Helper()
	return RequireCommand(t, "pm2")
}

// RequireSystemdImage needs Docker and the systemd test image.
func RequireSystemdImage(t testing.TB) {
	t.Helper()
	RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := exec.CommandContext(ctx, "docker", "image", "inspect", ImageSystemd).Run(); err != nil {
		Missing(t, "image "+ImageSystemd, "not built")
	}
}
