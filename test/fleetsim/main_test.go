package fleetsim

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// controllerBin is the arcanos-controller the tests start: ARCANOS_CONTROLLER_BIN,
// or one built from this tree by TestMain.
var controllerBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if bin := os.Getenv("ARCANOS_CONTROLLER_BIN"); bin != "" {
		controllerBin = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "fleetsim-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleetsim tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	controllerBin = filepath.Join(dir, "arcanos-controller")
	if err := buildController(controllerBin); err != nil {
		fmt.Fprintln(os.Stderr, "fleetsim tests:", err)
		return 1
	}
	return m.Run()
}

// buildController builds arcanos-controller from this module into bin.
func buildController(bin string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin,
		"github.com/arcanos-dev/arcanos/controller/cmd/arcanos-controller")
	cmd.Stdout, cmd.Stderr = &capped{w: &out, left: 64 << 10}, &capped{w: &out, left: 64 << 10}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build arcanos-controller: %w\n%s", err, out.Bytes())
	}
	return nil
}
