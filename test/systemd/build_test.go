package systemde2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// artifacts are the binaries every test here installs, built once per
// `go test` run.
type artifacts struct {
	root    string // the repository
	bin     string // arcanos-agent, arcanos-controller, arcanosctl (static)
	version string // the package version from deploy/package-version.sh
}

var (
	buildOnce sync.Once
	built     artifacts
	buildErr  string
	buildDir  string

	debsMu sync.Mutex
	debs   = map[string]*deb{}
)

// TestMain removes what the build left once every test is done.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// build compiles the three binaries the first time a test asks; later
// callers share them.
func build(t *testing.T) artifacts {
	t.Helper()
	buildOnce.Do(func() { built, buildErr = buildBinaries() })
	if buildErr != "" {
		t.Fatal(buildErr)
	}
	return built
}

func buildBinaries() (artifacts, string) {
	var a artifacts
	wd, err := os.Getwd()
	if err != nil {
		return a, "getwd: " + err.Error()
	}
	a.root = filepath.Clean(filepath.Join(wd, "..", ".."))
	if _, err := os.Stat(filepath.Join(a.root, "deploy", "nfpm", "agent.yaml")); err != nil {
		return a, "repository root not found from " + wd + ": " + err.Error()
	}
	buildDir, err = os.MkdirTemp("", "arcanos-systemd-e2e-")
	if err != nil {
		return a, "temp dir: " + err.Error()
	}
	a.bin = filepath.Join(buildDir, "bin")

	// Static binaries, as `make build` makes them; stripped (-s -w) only to
	// make the packages quicker to compress.
	// LIMITATION: so the tested packages differ from `make package`'s by
	// their symbol tables, and lack the version the Makefile links in.
	out, err := command(a.root, 5*time.Minute, []string{"CGO_ENABLED=0"},
		"go", "build", "-trimpath", "-ldflags=-s -w", "-o", a.bin+"/",
		"./agent/cmd/arcanos-agent", "./controller/cmd/arcanos-controller", "./cli/cmd/arcanosctl")
	if err != nil {
		return a, "go build: " + err.Error() + "\n" + out
	}

	out, err = command(a.root, time.Minute, nil, "bash", "deploy/package-version.sh")
	if err != nil {
		return a, "deploy/package-version.sh: " + err.Error() + "\n" + out
	}
	a.version = strings.TrimSpace(out)
	return a, ""
}

// deb is a .deb being built in the background.
type deb struct {
	done      chan struct{}
	path, err string
}

// debPackage starts packaging deploy/nfpm/CONFIG.yaml as a .deb of the given
// version with nfpm (the Go tool and the config `make package` uses), unless
// that package was already asked for, and returns a function that waits for
// it and returns its path.
func debPackage(t *testing.T, a artifacts, config, version string) func() string {
	t.Helper()
	key := config + " " + version
	debsMu.Lock()
	d, ok := debs[key]
	if !ok {
		d = &deb{done: make(chan struct{})}
		debs[key] = d
		dir := filepath.Join(buildDir, "dist", strconv.Itoa(len(debs)))
		go func() {
			defer close(d.done)
			d.path, d.err = nfpm(a, config, version, dir)
		}()
	}
	debsMu.Unlock()
	return func() string {
		t.Helper()
		<-d.done
		if d.err != "" {
			t.Fatal(d.err)
		}
		return d.path
	}
}

// nfpm packages deploy/nfpm/CONFIG.yaml as a .deb into dir and returns its path.
func nfpm(a artifacts, config, version, dir string) (string, string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err.Error()
	}
	env := []string{"ARCANOS_BIN=" + a.bin, "PKG_VERSION=" + version, "PKG_ARCH=" + runtime.GOARCH}
	out, err := command(a.root, 5*time.Minute, env, "go", "tool", "-modfile=tools/go.mod", "nfpm",
		"package", "--config", "deploy/nfpm/"+config+".yaml", "--packager", "deb", "--target", dir+"/")
	if err != nil {
		return "", "nfpm " + config + ": " + err.Error() + "\n" + out
	}
	found, _ := filepath.Glob(filepath.Join(dir, "arcanos-"+config+"_*.deb"))
	if len(found) != 1 {
		return "", "nfpm " + config + ": expected one .deb in " + dir + ", got " + strings.Join(found, " ")
	}
	return found[0], ""
}

// command runs name with args in dir, with extra environment and a timeout,
// and returns its combined output.
func command(dir string, timeout time.Duration, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
