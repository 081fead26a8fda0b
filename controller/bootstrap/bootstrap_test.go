package bootstrap

import (
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/arcanos-dev/arcanos/pkg/pki"
)

func TestDialAddress(t *testing.T) {
	for listen, want := range map[string]string{
		"127.0.0.1:7443":           "127.0.0.1:7443",
		":7443":                    "localhost:7443",
		"0.0.0.0:7443":             "localhost:7443",
		"[::]:7443":                "localhost:7443",
		"ctl.example.net:7443":     "ctl.example.net:7443",
		"unix:///run/arcanos.sock": "unix:///run/arcanos.sock",
	} {
		if got := DialAddress(listen); got != want {
			t.Errorf("DialAddress(%q) = %q, want %q", listen, got, want)
		}
	}
}

func TestSetupWritesTheFirstOperatorsConfigOnce(t *testing.T) {
	dir := t.TempDir()
	first, err := Setup(dir, "0.0.0.0:7443", []string{"ctl.example.net"})
	if err != nil {
		t.Fatal(err)
	}
	if !first.CreatedCLIConfig {
		t.Fatal("first start did not write the CLI config")
	}
	fi, err := os.Stat(first.CLIConfig)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("CLI config %v mode %v, want 0600", err, fi.Mode())
	}
	var cc CLIConfig
	data, _ := os.ReadFile(first.CLIConfig)
	if err := yaml.Unmarshal(data, &cc); err != nil || cc.Controller != "localhost:7443" {
		t.Fatalf("CLI config %+v %v", cc, err)
	}
	conf, err := pki.ClientTLS(cc.Cert, cc.Key, cc.CA)
	if err != nil {
		t.Fatalf("CLI config's files do not load: %v", err)
	}
	if id, ok := pki.IdentityOf(conf.Certificates[0].Leaf); !ok || id.Kind != pki.KindOperator || id.Name != FirstOperator {
		t.Fatalf("operator identity %v", id)
	}
	if err := first.Server.Leaf.VerifyHostname("ctl.example.net"); err != nil {
		t.Fatalf("server certificate: %v", err)
	}

	again, err := Setup(dir, "0.0.0.0:7443", nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.CreatedCLIConfig || again.CA.Fingerprint() != first.CA.Fingerprint() {
		t.Fatal("second start replaced the CA or the CLI config")
	}
	if _, err := os.Stat(filepath.Join(dir, "pki", "operator-admin.key")); err != nil {
		t.Fatal(err)
	}
}
