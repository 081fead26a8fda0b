package testbed

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// SleeperImage is a FROM-scratch image whose only file is /sleeper, a static
// binary that sleeps until it is signalled. No registry is needed.
const SleeperImage = "arcanos-test-sleeper:1"

const sleeperSource = `package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
}
`

var sleeperOnce sync.Mutex

// RequireSleeperImage builds SleeperImage when it is missing and returns its
// name. Its containers run with --network none.
func RequireSleeperImage(t testing.TB) string {
	t.Helper()
	RequireDocker(t)
	sleeperOnce.Lock()
	defer sleeperOnce.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if exec.CommandContext(ctx, "docker", "image", "inspect", SleeperImage).Run() == nil {
		return SleeperImage
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(sleeperSource), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module sleeper\n\ngo 1.21\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	build := exec.CommandContext(ctx, "go", "build", "-o", "sleeper", ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build sleeper: %v\n%s", err, out)
	}
	bin, err := os.ReadFile(filepath.Join(dir, "sleeper"))
	if err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "sleeper", Mode: 0o755, Size: int64(len(bin))})
	_, _ = tw.Write(bin)
	_ = tw.Close()

	imp := exec.CommandContext(ctx, "docker", "import",
		"--change", `CMD ["/sleeper"]`, "--change", "LABEL "+Label+"=1", "-", SleeperImage)
	imp.Stdin = &buf
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("docker import sleeper: %v\n%s", err, out)
	}
	return SleeperImage
}
