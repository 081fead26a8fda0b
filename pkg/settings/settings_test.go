package settings

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.String("log-dir", "logs", "")
	fs.Duration("timeout", 60*time.Second, "")
	fs.Bool("terminate", false, "")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestDefaultsAreSafe(t *testing.T) {
	a, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Terminate.Enabled {
		t.Error("termination must be off by default")
	}
	if a.Services.Restart {
		t.Error("automatic restarts must be off by default")
	}
	if a.Timeouts.Run != 60*time.Second {
		t.Errorf("run timeout = %s, want 60s", a.Timeouts.Run)
	}
	if a.Root != "/" {
		t.Errorf("root = %q", a.Root)
	}
}

func TestPrecedenceFlagsOverEnvOverFile(t *testing.T) {
	file := writeFile(t, "log_dir: /from/file\ntimeouts:\n  run: 10s\nterminate:\n  enabled: true\n")

	a, err := Load(file, flags(t))
	if err != nil {
		t.Fatal(err)
	}
	if a.LogDir != "/from/file" || a.Timeouts.Run != 10*time.Second || !a.Terminate.Enabled {
		t.Fatalf("file values not used: %+v", a)
	}

	t.Setenv("ARCANOS_LOG_DIR", "/from/env")
	t.Setenv("ARCANOS_TIMEOUTS_RUN", "20s")
	t.Setenv("ARCANOS_TERMINATE_ENABLED", "false")
	a, err = Load(file, flags(t))
	if err != nil {
		t.Fatal(err)
	}
	if a.LogDir != "/from/env" || a.Timeouts.Run != 20*time.Second || a.Terminate.Enabled {
		t.Fatalf("environment must win over the file: %+v", a)
	}

	a, err = Load(file, flags(t, "--log-dir", "/from/flag", "--timeout", "30s", "--terminate"))
	if err != nil {
		t.Fatal(err)
	}
	if a.LogDir != "/from/flag" || a.Timeouts.Run != 30*time.Second || !a.Terminate.Enabled {
		t.Fatalf("flags must win over the environment: %+v", a)
	}
}

func TestBadSettingsSayWhatToFix(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"unknown key", "log_dirr: /x\n", "log_dirr"},
		{"wrong type", "terminate:\n  enabled: maybe\n", "terminate.enabled"},
		{"negative timeout", "timeouts:\n  run: -1s\n", "timeouts.run must be positive"},
		{"relative root", "root: relative/dir\n", "must be an absolute path"},
		{"bad yaml", "log_dir: [\n", "read settings"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(writeFile(t, c.body), nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func TestMissingSettingsFileIsAnError(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	if err == nil {
		t.Fatal("a missing settings file must be an error")
	}
}

func TestValidateCatchesNonsense(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"bare number grace", "terminate:\n  grace: 10\n", "write the unit"},
		{"percent over 100", "health:\n  disk_percent: 150\n", "between 0 and 100"},
		{"negative memory percent", "health:\n  memory_percent: -3\n", "between 0 and 100"},
		{"negative docker age", "caches:\n  docker_min_age: -1h\n", "docker_min_age must be positive"},
		{"relative pid dir", "caches:\n  pid_dirs: [relative]\n", "must be an absolute path"},
		{"relative compose dir", "compose_dirs: [rel]\n", "must be an absolute path"},
		{"bad glob", "protected_names: [\"[bad\"]\n", "not a valid glob"},
		{"docker scheme", "docker:\n  host: ftp://x\n", "unix:///"},
		{"bus form", "systemd:\n  bus: garbage\n", "unix:path="},
		{"hostname newline", "hostname: \"web1\\n==== forged\"\n", "control characters"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(writeFile(t, c.body), nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func TestProtectedNamesAddToTheDefaults(t *testing.T) {
	a, err := Load(writeFile(t, "protected_names: [\"my-daemon\"]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.ProtectedNames) != 1 || len(DefaultProtectedNames) < 10 {
		t.Fatalf("protected_names = %v; the defaults live apart and always apply", a.ProtectedNames)
	}
}
