package command

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcanos-dev/arcanos/pkg/pki"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// isolate points every default config location at empty places.
func isolate(t *testing.T) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	t.Chdir(t.TempDir())
	for _, k := range []string{"ARCANOS_CONFIG", "ARCANOS_CONTROLLER", "ARCANOS_CERT", "ARCANOS_KEY", "ARCANOS_CA", "ARCANOS_INSECURE_DEV"} {
		t.Setenv(k, "")
		_ = os.Unsetenv(k)
	}
}

func TestMissingConfigSaysWhereToGetOne(t *testing.T) {
	isolate(t)
	r := ctl(t, "hosts", "list")
	if r.code != ExitUsage {
		t.Fatalf("exit %d; stderr %s", r.code, r.stderr)
	}
	for _, w := range []string{"no config file found", "arcanosctl.yaml in its data directory on first start",
		"--config FILE", "ARCANOS_CONFIG", "~/.config/arcanos/arcanosctl.yaml", "./arcanosctl.yaml"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}

	r = ctl(t, "--config", "/nonexistent/arcanosctl.yaml", "runs", "list")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "/nonexistent/arcanosctl.yaml does not exist") ||
		!strings.Contains(r.stderr, "data directory") {
		t.Fatalf("named missing file: exit %d, stderr %s", r.code, r.stderr)
	}
}

func TestConfigComesFromFileEnvAndFlagsInThatOrder(t *testing.T) {
	isolate(t)
	tc := startController(t, &fakeControl{hosts: []*arcanosv1.Host{{HostId: "web-1", Hostname: "web-1"}}})
	wrong := tc.writeConfig(t, "wrong.yaml", "unix:///nonexistent/c.sock",
		"pki/operator-alice.crt", "pki/operator-alice.key", "pki/ca.crt")

	// The default location, with certificate paths relative to the file.
	home := os.Getenv("XDG_CONFIG_HOME")
	if err := os.MkdirAll(filepath.Join(home, "arcanos"), 0o700); err != nil {
		t.Fatal(err)
	}
	body, _ := os.ReadFile(tc.config)
	for _, k := range []string{"cert", "key", "ca"} {
		body = []byte(strings.Replace(string(body), k+": pki/", k+": "+tc.dir+"/pki/", 1))
	}
	if err := os.WriteFile(filepath.Join(home, "arcanos", "arcanosctl.yaml"), body, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := ctl(t, "hosts", "list"); r.code != ExitOK || !strings.Contains(r.stdout, "web-1") {
		t.Fatalf("default location: exit %d, stderr %s", r.code, r.stderr)
	}

	// ARCANOS_CONFIG beats the default location.
	t.Setenv("ARCANOS_CONFIG", wrong)
	if r := ctl(t, "hosts", "list"); r.code != ExitFailed || !strings.Contains(r.stderr, "cannot reach the controller at unix:///nonexistent/c.sock") {
		t.Fatalf("ARCANOS_CONFIG: exit %d, stderr %s", r.code, r.stderr)
	}
	// ARCANOS_CONTROLLER beats the file.
	t.Setenv("ARCANOS_CONTROLLER", "unix://"+tc.sock)
	if r := ctl(t, "hosts", "list"); r.code != ExitOK {
		t.Fatalf("ARCANOS_CONTROLLER: exit %d, stderr %s", r.code, r.stderr)
	}
	// A flag beats the environment.
	if r := ctl(t, "--controller", "unix:///nonexistent/other.sock", "hosts", "list"); r.code != ExitFailed ||
		!strings.Contains(r.stderr, "other.sock") {
		t.Fatalf("--controller: exit %d, stderr %s", r.code, r.stderr)
	}
}

func TestBadConnectionSettingsAreUsageErrors(t *testing.T) {
	isolate(t)
	tc := startController(t, &fakeControl{})
	if err := os.WriteFile(filepath.Join(tc.dir, "loose.key"), mustRead(t, filepath.Join(tc.dir, "pki", "operator-alice.key")), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		config string
		want   string
	}{
		{"a key missing from the file", "controller: unix://" + tc.sock + "\ncert: pki/operator-alice.crt\nca: pki/ca.crt\n",
			"does not set key"},
		{"a key file others can read", "controller: unix://" + tc.sock + "\ncert: pki/operator-alice.crt\nkey: loose.key\nca: pki/ca.crt\n",
			"loose.key"},
		{"an address that is a URL", "controller: https://ctl:7443\ncert: pki/operator-alice.crt\nkey: pki/operator-alice.key\nca: pki/ca.crt\n",
			"use host:port"},
		{"a file that is not YAML", "controller: [unclosed\n", "read config file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, tc.dir, "c.yaml", c.config)
			r := ctl(t, "--config", p, "schedules", "list")
			if r.code != ExitUsage || !strings.Contains(r.stderr, c.want) {
				t.Fatalf("exit %d, want 2 and %q in stderr:\n%s", r.code, c.want, r.stderr)
			}
		})
	}
	if calls := tc.fake.called(); len(calls) != 0 {
		t.Errorf("the controller was called: %v", calls)
	}
}

func TestTLSFailuresShowTheStatusMessage(t *testing.T) {
	isolate(t)
	tc := startController(t, &fakeControl{})

	// A CA the controller's certificate does not chain to.
	other, err := pki.LoadOrCreateCA(filepath.Join(tc.dir, "other"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := tc.writeConfig(t, "otherca.yaml", "unix://"+tc.sock, "pki/operator-alice.crt", "pki/operator-alice.key", other.CertFile())
	r := ctl(t, "--config", cfg, "hosts", "list")
	if r.code != ExitFailed || !strings.Contains(r.stderr, "arcanosctl: list hosts: cannot reach the controller") ||
		!strings.Contains(r.stderr, "x509: certificate signed by unknown authority") ||
		!strings.Contains(r.stderr, "The TLS handshake failed") {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "rpc error") {
		t.Errorf("a gRPC dump instead of the status message:\n%s", r.stderr)
	}

	// An operator certificate from another CA: the handshake fails (how the
	// client learns it depends on timing), and no call is served.
	if _, _, err := other.IssueOperator(filepath.Join(tc.dir, "other"), "mallory"); err != nil {
		t.Fatal(err)
	}
	cfg = tc.writeConfig(t, "mallory.yaml", "unix://"+tc.sock, "other/operator-mallory.crt", "other/operator-mallory.key", "pki/ca.crt")
	r = ctl(t, "--config", cfg, "hosts", "list")
	if r.code != ExitFailed || !strings.Contains(r.stderr, "arcanosctl: list hosts: cannot reach the controller") ||
		strings.Contains(r.stderr, "rpc error") {
		t.Fatalf("foreign operator: exit %d, stderr %s", r.code, r.stderr)
	}
	if calls := tc.fake.called(); len(calls) != 0 {
		t.Fatalf("the controller served a foreign operator: %v", calls)
	}

	// Plaintext to a TLS controller fails, and the warning says it is plaintext.
	r = ctl(t, "--controller", "unix://"+tc.sock, "--insecure-dev", "hosts", "list")
	if r.code != ExitFailed || !strings.Contains(r.stderr, "warning: --insecure-dev") {
		t.Fatalf("insecure: exit %d, stderr %s", r.code, r.stderr)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
