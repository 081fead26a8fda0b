package systemde2e

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// controller is a real arcanos-controller on this machine's loopback, with a
// data directory of the test's own, stopped with SIGTERM when the test ends.
type controller struct {
	t       *testing.T
	bin     string
	addr    string
	dataDir string
	log     string
}

// startController starts bin/arcanos-controller on 127.0.0.1 and a free
// port, and waits until arcanosctl can reach it with the first operator's
// config.
func startController(t *testing.T, a artifacts) *controller {
	t.Helper()
	dir := t.TempDir()
	c := &controller{t: t, bin: a.bin, addr: freePort(t), dataDir: filepath.Join(dir, "data"),
		log: filepath.Join(dir, "controller.log")}

	logf, err := os.Create(c.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(a.bin, "arcanos-controller"), "--data-dir", c.dataDir,
		"--listen", c.addr, "--log-format", "json")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start arcanos-controller: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(c.log)
			t.Logf("controller log:\n%s", b)
		}
	})

	for range 200 {
		if _, _, err := c.ctl("hosts", "list"); err == nil {
			return c
		}
		select {
		case err := <-done:
			b, _ := os.ReadFile(c.log)
			t.Fatalf("arcanos-controller exited: %v\n%s", err, b)
		case <-time.After(100 * time.Millisecond):
		}
	}
	out, code, err := c.ctl("hosts", "list")
	t.Fatalf("controller at %s never answered arcanosctl: exit %d %v\n%s", c.addr, code, err, out)
	return nil
}

// ctl runs arcanosctl as the first operator and returns its stdout, its exit
// code and an error when it did not exit 0.
func (c *controller) ctl(args ...string) (string, int, error) {
	cmd := exec.Command(filepath.Join(c.bin, "arcanosctl"), args...)
	cmd.Env = append(os.Environ(), "ARCANOS_CONFIG="+filepath.Join(c.dataDir, "arcanosctl.yaml"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	if err != nil {
		err = errors.New(err.Error() + ": " + stderr.String())
	}
	return string(out), code, err
}

// ctlJSON runs arcanosctl with -o json and decodes its output into m.
func (c *controller) ctlJSON(m proto.Message, args ...string) {
	c.t.Helper()
	out, _, err := c.ctl(append(args, "-o", "json")...)
	if err != nil {
		c.t.Fatalf("arcanosctl %s: %v", strings.Join(args, " "), err)
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal([]byte(out), m); err != nil {
		c.t.Fatalf("arcanosctl %s: decode %T: %v\n%s", strings.Join(args, " "), m, err, out)
	}
}

// freePort returns 127.0.0.1:PORT with a port nothing listens on now.
// LIMITATION: another process may take the port before the controller
// binds it; the test then fails at start-up, naming the address.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// writeTemp writes content to a new file in the test's temp dir.
func writeTemp(t *testing.T, content string) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "file-")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}
