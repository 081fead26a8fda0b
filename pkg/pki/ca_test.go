package pki

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLoadOrCreateCACreatesThenLoadsUnchanged(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	ca, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatalf("create: %v", err)
	}

	assertMode(t, filepath.Join(dir, "ca.key"), 0o600)
	assertMode(t, filepath.Join(dir, "ca.crt"), 0o644)
	assertMode(t, dir, 0o700)
	if names := dirNames(t, dir); !slices.Equal(names, []string{"ca.crt", "ca.key"}) {
		t.Errorf("pki dir holds %v, want only ca.crt and ca.key (no temporary files)", names)
	}

	crtPEM := readFile(t, filepath.Join(dir, "ca.crt"))
	keyPEM := readFile(t, filepath.Join(dir, "ca.key"))
	block, _ := pem.Decode(crtPEM)
	if block == nil {
		t.Fatal("ca.crt is not PEM")
	}
	if got, want := ca.Fingerprint(), FingerprintOf(block.Bytes); got != want {
		t.Errorf("Fingerprint() = %s, want sha256 of ca.crt %s", got, want)
	}
	if !strings.HasPrefix(ca.Fingerprint(), "sha256:") || len(ca.Fingerprint()) != 7+64 {
		t.Errorf("Fingerprint() = %q, want sha256:<64 hex>", ca.Fingerprint())
	}
	if !bytes.Equal(ca.CertDER(), block.Bytes) || ca.CertFile() != filepath.Join(dir, "ca.crt") {
		t.Errorf("CertDER/CertFile do not describe ca.crt")
	}

	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.IsCA || !cert.MaxPathLenZero || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA cert: IsCA=%v MaxPathLenZero=%v KeyUsage=%v", cert.IsCA, cert.MaxPathLenZero,
			cert.KeyUsage)
	}
	if got := cert.NotAfter.Sub(cert.NotBefore); got != caLifetime+clockSkew {
		t.Errorf("CA lifetime %v, want %v", got, caLifetime+clockSkew)
	}

	again, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if again.Fingerprint() != ca.Fingerprint() {
		t.Errorf("second start has CA %s, first had %s", again.Fingerprint(), ca.Fingerprint())
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, "ca.crt")), crtPEM) ||
		!bytes.Equal(readFile(t, filepath.Join(dir, "ca.key")), keyPEM) {
		t.Error("second start rewrote ca.crt or ca.key")
	}

	// The loaded key must be the one that signed the CA: a certificate it
	// issues verifies against the first start's pool.
	_, csr := mustKeyAndCSR(t, "web-1")
	der, err := again.SignAgent(csr, "web-1")
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.CertPool(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("certificate from the loaded CA does not verify against the created CA: %v", err)
	}
}

func TestLoadOrCreateCARefusesKeyOpenToOthers(t *testing.T) {
	for _, tc := range []struct {
		mode os.FileMode
		ok   bool
	}{
		{0o600, true}, {0o400, true}, {0o640, false}, {0o604, false}, {0o644, false}, {0o660, false},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			if _, err := LoadOrCreateCA(dir); err != nil {
				t.Fatal(err)
			}
			keyPath := filepath.Join(dir, "ca.key")
			if err := os.Chmod(keyPath, tc.mode); err != nil {
				t.Fatal(err)
			}

			_, err := LoadOrCreateCA(dir)
			if tc.ok {
				if err != nil {
					t.Fatalf("mode %o refused: %v", tc.mode, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("mode %o accepted, want refusal", tc.mode)
			}
			for _, want := range []string{keyPath, "group or others", "chmod 600"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestLoadOrCreateCARefusesHalfACA(t *testing.T) {
	for _, keep := range []string{"ca.crt", "ca.key"} {
		t.Run("only "+keep, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := LoadOrCreateCA(dir); err != nil {
				t.Fatal(err)
			}
			gone := "ca.key"
			if keep == "ca.key" {
				gone = "ca.crt"
			}
			kept := readFile(t, filepath.Join(dir, keep))
			if err := os.Remove(filepath.Join(dir, gone)); err != nil {
				t.Fatal(err)
			}

			_, err := LoadOrCreateCA(dir)
			if err == nil || !strings.Contains(err.Error(), "without its") {
				t.Fatalf("err = %v, want a refusal naming the missing file", err)
			}
			if !bytes.Equal(readFile(t, filepath.Join(dir, keep)), kept) {
				t.Errorf("%s was changed", keep)
			}
			if _, err := os.Stat(filepath.Join(dir, gone)); !os.IsNotExist(err) {
				t.Errorf("%s was recreated", gone)
			}
		})
	}
}

func TestLoadOrCreateCARefusesKeyOfAnotherCA(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	for _, d := range []string{dir, other} {
		if _, err := LoadOrCreateCA(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.key"),
		readFile(t, filepath.Join(other, "ca.key")), 0o600); err != nil {
		t.Fatal(err)
	}

	if _, err := LoadOrCreateCA(dir); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Fatalf("err = %v, want key/certificate mismatch", err)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %04o, want %04o", path, got, want)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func mustKeyAndCSR(t *testing.T, host string) (keyPEM, csrDER []byte) {
	t.Helper()
	keyPEM, csrDER, err := NewKeyAndCSR(host)
	if err != nil {
		t.Fatal(err)
	}
	return keyPEM, csrDER
}

func newTestCA(t *testing.T) *CA {
	t.Helper()
	ca, err := LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}
