package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// bin holds the paths of the binaries TestMain built.
var bin struct {
	agent, controller, ctl string
}

// repoRoot is the module's root directory, where the binaries are built from.
const repoRoot = "../.."

// TestMain builds the three binaries once into a temporary directory, so
// that every test runs the code of this tree (not a stale bin/ that another
// build may replace while a test runs).
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "arcanos-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		os.Exit(1)
	}
	code := 1
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
	} else {
		code = m.Run()
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func build(dir string) error {
	pkgs := []string{"./agent/cmd/arcanos-agent", "./controller/cmd/arcanos-controller", "./cli/cmd/arcanosctl"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// One go build with -o naming a directory links the three in parallel.
	cmd := exec.CommandContext(ctx, "go", append([]string{"build", "-o", dir + "/"}, pkgs...)...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %v: %w\n%s", pkgs, err, out)
	}
	bin.agent = filepath.Join(dir, "arcanos-agent")
	bin.controller = filepath.Join(dir, "arcanos-controller")
	bin.ctl = filepath.Join(dir, "arcanosctl")
	return nil
}
