package testbed

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// envInNamespace marks the re-executed test binary running inside the PID
// namespace made by InPIDNamespace.
const envInNamespace = "ARCANOS_TESTBED_IN_PIDNS"

// InPIDNamespace makes a test run as pid 1 of its own PID namespace with a
// fresh /proc, where it sees and can signal only the processes it starts.
// Called at the top of a test, it returns true in the re-executed copy
// (which then does the work) and false in the original, after it has run
// the copy and reported its outcome; the original then returns at once:
//
//	if !testbed.InPIDNamespace(t) { return }
func InPIDNamespace(t *testing.T) bool {
	t.Helper()
	if os.Getenv(envInNamespace) == t.Name() {
		if os.Getpid() != 1 {
			t.Fatalf("expected to be pid 1 of a new PID namespace, am pid %d", os.Getpid())
		}
		return true
	}
	unshare := RequireUnshare(t)

	pattern := "^" + strings.ReplaceAll(t.Name(), "/", "$/^") + "$"
	args := []string{"--pid", "--fork", "--mount-proc", os.Args[0], "-test.run", pattern,
		"-test.count=1", "-test.v"}
	if d, ok := t.Deadline(); ok {
		_ = d // the outer test's deadline bounds the inner one through the parent
	}
	cmd := exec.Command(unshare, args...)
	cmd.Env = append(os.Environ(), envInNamespace+"="+t.Name())
	out, err := cmd.CombinedOutput()
	text := string(out)
	t.Logf("in PID namespace:\n%s", indent(text))
	if err != nil {
		t.Fatalf("test in PID namespace failed: %v", err)
	}
	if strings.Contains(text, "--- SKIP") {
		t.Fatalf("test in PID namespace skipped")
	}
	if !strings.Contains(text, "--- PASS: "+t.Name()) {
		t.Fatalf("test in PID namespace did not report a pass (was it run?)")
	}
	return false
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}
