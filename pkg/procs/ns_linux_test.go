package procs

// Tests that start or signal processes run inside a PID namespace of their
// own: the test binary re-executes itself as pid 1 of
// `unshare --pid --fork --mount-proc`, where List sees only the test's
// processes. Helper modes of the same binary play the processes under test.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/testbed"
	"golang.org/x/sys/unix"
)

const (
	envInner  = "ARCANOS_PROCS_INNER"  // set in the re-executed run inside the namespace
	envHelper = "ARCANOS_PROCS_HELPER" // names the helper mode to play
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(envHelper); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

// keep holds a helper's sockets so they stay open while it sleeps.
var keep []io.Closer

// runHelper plays one process under test and returns its exit code.
func runHelper(mode string) int {
	switch mode {
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
	case "listen":
		tcp, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		// A connected UDP socket and both ends of a TCP connection are not
		// listening sockets and must not be reported.
		conn, err := net.Dial("udp4", udp.LocalAddr().String())
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		client, err := net.Dial("tcp4", tcp.Addr().String())
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		server, err := tcp.Accept()
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		keep = append(keep, tcp, udp, conn, client, server)
		fmt.Println(tcp.Addr().(*net.TCPAddr).Port, udp.LocalAddr().(*net.UDPAddr).Port)
	case "inventory":
		return printInventory(os.Stdout)
	default:
		fmt.Println("unknown helper mode", mode)
		return 2
	}
	for {
		time.Sleep(time.Hour)
	}
}

// inNamespace returns true in the inner run, which does the test's work as
// pid 1 of a new PID namespace. In the outer run it re-executes the test there,
// fails the test if the inner run did not pass, and returns false.
func inNamespace(t *testing.T) bool {
	t.Helper()
	if os.Getenv(envInner) == "1" {
		if os.Getpid() != 1 {
			t.Fatalf("inner run is pid %d, not pid 1 of a new PID namespace", os.Getpid())
		}
		return true
	}

	unshare := testbed.RequireUnshare(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare, "--pid", "--fork", "--mount-proc", "--kill-child",
		os.Args[0], "-test.run", "^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), envInner+"=1")
	out, err := cmd.CombinedOutput()
	for line := range strings.Lines(string(out)) {
		t.Log("inner: " + strings.TrimRight(line, "\n"))
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("inner run in a PID namespace did not pass: %v", err)
	}
	return false
}

// startCmd starts cmd, kills and reaps it when the test ends, and returns it.
func startCmd(t *testing.T, cmd *exec.Cmd) *exec.Cmd {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			// audit: test cleanup kills its own child, inside its PID namespace.
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// startHelper starts a helper mode of the test binary and returns it with the
// first line it printed (its "ready" signal).
func startHelper(t *testing.T, mode string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envHelper+"="+mode)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	startCmd(t, cmd)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("helper %s printed nothing: %v", mode, err)
	}
	if strings.HasPrefix(line, "error") {
		t.Fatalf("helper %s: %s", mode, line)
	}
	return cmd, strings.TrimSpace(line)
}

// startSleep starts `sleep 1000` from the given binary path.
func startSleep(t *testing.T, path string) *exec.Cmd {
	t.Helper()
	return startCmd(t, exec.Command(path, "1000"))
}

// sleepPath returns the path of the system's sleep binary.
func sleepPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatalf("no sleep binary: %v", err)
	}
	return p
}

// copyBinary copies the sleep binary to dir/name, executable.
func copyBinary(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(sleepPath(t))
	if err != nil {
		t.Fatal(err)
	}
	dst := dir + "/" + name
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// find lists the processes and returns the one with pid, failing if absent.
func find(t *testing.T, pid int, opts ListOptions) Process {
	t.Helper()
	p, ok := lookup(t, pid, opts)
	if !ok {
		t.Fatalf("pid %d not listed", pid)
	}
	return p
}

func lookup(t *testing.T, pid int, opts ListOptions) (Process, bool) {
	t.Helper()
	ps, err := List(t.Context(), opts)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, p := range ps {
		if int(p.PID) == pid {
			return p, true
		}
	}
	return Process{}, false
}

// waitState lists until pid shows the state, which a freshly started process
// reaches after exec. It fails only after a generous deadline.
func waitState(t *testing.T, pid int, state string) Process {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p := find(t, pid, ListOptions{})
		if p.State == state {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d stays in state %s, want %s", pid, p.State, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitExitNoReap blocks until the child pid has exited, leaving it a zombie.
func waitExitNoReap(t *testing.T, pid int) {
	t.Helper()
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatalf("waitid pid %d: %v", pid, err)
	}
}

// signalOf returns the signal that ended a reaped command, or 0.
func signalOf(cmd *exec.Cmd) syscall.Signal {
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return 0
	}
	return ws.Signal()
}
