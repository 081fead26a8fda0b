package command

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestFleetCommandsUsageErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	tokenFile := write(t, dir, "token", "arc1.secret\n")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"enroll without a pin", []string{"enroll", "--controller", "127.0.0.1:1", "--token", "arc1.x",
			"--state-dir", state}, "--ca-fingerprint is required"},
		{"enroll without a token", []string{"enroll", "--controller", "127.0.0.1:1",
			"--ca-fingerprint", "sha256:00", "--state-dir", state}, "--token or --token-file is required"},
		{"enroll with two tokens", []string{"enroll", "--token", "arc1.x", "--token-file", tokenFile,
			"--state-dir", state}, "not both"},
		{"enroll with a bad label", []string{"enroll", "--token", "arc1.x", "--ca-fingerprint", "sha256:00",
			"--labels", "a b=c", "--state-dir", state}, "fleet.labels"},
		{"enroll with a malformed pin", []string{"enroll", "--controller", "127.0.0.1:1", "--token", "arc1.x",
			"--ca-fingerprint", "sha256:00", "--state-dir", state}, "malformed"},
		{"enroll without a controller", []string{"enroll", "--token", "arc1.x",
			"--ca-fingerprint", "sha256:" + strings.Repeat("ab", 32), "--state-dir", state}, "--controller is required"},
		{"run before enrolling", []string{"run", "--state-dir", state}, "not enrolled"},
		{"run with a relative state dir", []string{"run", "--state-dir", "state"}, "fleet.state_dir"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := agent(t, c.args...)
			if code != 2 || !strings.Contains(errs, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 saying %q", code, errs, c.want)
			}
			if strings.Contains(errs, "arc1.") {
				t.Errorf("a token must never be printed: %q", errs)
			}
		})
	}
}

func TestEnrollFailureExits1WithoutWritingAKey(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	code, _, errs := agent(t, "enroll", "--controller", "unix://"+filepath.Join(dir, "none.sock"),
		"--token", "arc1.x", "--hostname", "web-1", "--state-dir", state,
		"--ca-fingerprint", "sha256:"+strings.Repeat("ab", 32))
	if code != 1 || !strings.Contains(errs, "enroll with controller") {
		t.Fatalf("exit %d, stderr %q; want exit 1 naming the failed enrollment", code, errs)
	}
	if m, _ := filepath.Glob(filepath.Join(state, "*")); len(m) != 0 {
		t.Errorf("a failed enrollment wrote %v", m)
	}
}
