package daemon

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnrollWritesCredentialsWithTheirModes(t *testing.T) {
	fc := newFakeController(t)
	dir := enrollHost(t, fc, "web-1", map[string]string{"role": "web"})

	want := map[string]os.FileMode{KeyFile: 0o600, CertFile: 0o644, CAFile: 0o644, EnrollmentFile: 0o644}
	for name, mode := range want {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s has mode %o, want %o", name, fi.Mode().Perm(), mode)
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state directory mode: %v %v, want 0700", fi.Mode().Perm(), err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*")); len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}

	state := State{Dir: dir}
	id, err := state.HostID()
	if err != nil || id != "web-1" {
		t.Fatalf("host id from the certificate = %q, %v; want web-1", id, err)
	}
	var enr Enrollment
	data, _ := os.ReadFile(state.Path(EnrollmentFile))
	if err := json.Unmarshal(data, &enr); err != nil {
		t.Fatal(err)
	}
	if enr.HostID != "web-1" || enr.Controller != fc.addr || enr.CAFingerprint != fc.ca.Fingerprint() ||
		!maps.Equal(enr.Labels, map[string]string{"role": "web"}) {
		t.Errorf("enrollment record = %+v", enr)
	}
	if strings.Contains(string(data), "arc1.") {
		t.Error("the enrollment record must not keep the token")
	}
}

func TestEnrollRefusals(t *testing.T) {
	fc := newFakeController(t)
	other := newFakeController(t) // a different CA
	enrolled := enrollHost(t, fc, "db-1", nil)

	cases := []struct {
		name string
		opts func(dir string) EnrollOptions
		want string
	}{
		{"controller with another CA", func(dir string) EnrollOptions {
			return EnrollOptions{Controller: fc.addr, Token: fc.token(), CAFingerprint: other.ca.Fingerprint(),
				Hostname: "web-2", StateDir: dir}
		}, "fingerprint did not match"},
		{"malformed fingerprint", func(dir string) EnrollOptions {
			return EnrollOptions{Controller: fc.addr, Token: fc.token(), CAFingerprint: "sha256:abc",
				Hostname: "web-2", StateDir: dir}
		}, "malformed"},
		{"unknown token", func(dir string) EnrollOptions {
			return EnrollOptions{Controller: fc.addr, Token: "arc1.nope", CAFingerprint: fc.ca.Fingerprint(),
				Hostname: "web-2", StateDir: dir}
		}, "token invalid"},
		{"host name that cannot be a host id", func(dir string) EnrollOptions {
			return EnrollOptions{Controller: fc.addr, Token: fc.token(), CAFingerprint: fc.ca.Fingerprint(),
				Hostname: "Web_2", StateDir: dir}
		}, "cannot be a host id"},
		{"already enrolled", func(string) EnrollOptions {
			return EnrollOptions{Controller: fc.addr, Token: fc.token(), CAFingerprint: fc.ca.Fingerprint(),
				Hostname: "db-1", StateDir: enrolled}
		}, "--force"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			_, err := Enroll(t.Context(), c.opts(dir))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Enroll() = %v, want an error containing %q", err, c.want)
			}
			if _, err := os.Stat(filepath.Join(dir, KeyFile)); err == nil {
				t.Error("a failed enrollment must write no key")
			}
		})
	}

	id, err := State{Dir: enrolled}.HostID()
	if err != nil || id != "db-1" {
		t.Errorf("the refused re-enrollment must leave the first one intact: %q %v", id, err)
	}
}
