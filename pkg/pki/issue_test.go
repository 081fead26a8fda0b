package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSignAgentIgnoresRequestedNames(t *testing.T) {
	ca := newTestCA(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:        pkix.Name{CommonName: "admin"},
		DNSNames:       []string{"controller.example", "db-1"},
		IPAddresses:    []net.IP{net.ParseIP("10.0.0.1")},
		EmailAddresses: []string{"root@example.com"},
		URIs: []*url.URL{
			{Scheme: "arcanos", Host: "operator", Path: "/admin"},
			{Scheme: "arcanos", Host: "host", Path: "/db-1"},
		},
	}, key)
	if err != nil {
		t.Fatal(err)
	}

	der, err := ca.SignAgent(csr, "web-1")
	if err != nil {
		t.Fatalf("SignAgent: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}

	if len(cert.URIs) != 1 || cert.URIs[0].String() != "arcanos://host/web-1" {
		t.Errorf("URIs = %v, want only arcanos://host/web-1", cert.URIs)
	}
	if cert.Subject.CommonName != "web-1" {
		t.Errorf("CN = %q, want web-1", cert.Subject.CommonName)
	}
	if len(cert.DNSNames)+len(cert.IPAddresses)+len(cert.EmailAddresses) != 0 {
		t.Errorf("requested SANs leaked: dns=%v ip=%v email=%v", cert.DNSNames, cert.IPAddresses,
			cert.EmailAddresses)
	}
	if id, ok := IdentityOf(cert); !ok || id != (Identity{Kind: KindHost, Name: "web-1"}) {
		t.Errorf("IdentityOf = %v, %v; want host web-1", id, ok)
	}
	if cert.IsCA || !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Errorf("IsCA=%v ExtKeyUsage=%v, want a client-only leaf", cert.IsCA, cert.ExtKeyUsage)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		t.Error("certificate is not for the request's key")
	}
	if got := cert.NotAfter.Sub(cert.NotBefore); got != leafLifetime+clockSkew {
		t.Errorf("lifetime %v, want %v", got, leafLifetime+clockSkew)
	}
	client := x509.VerifyOptions{Roots: ca.CertPool(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if _, err := cert.Verify(client); err != nil {
		t.Errorf("agent certificate does not verify as a client: %v", err)
	}
	client.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	if _, err := cert.Verify(client); err == nil {
		t.Error("agent certificate verifies as a server certificate")
	}
}

func TestSignAgentRejectsBadHostIDs(t *testing.T) {
	ca := newTestCA(t)
	_, csr := mustKeyAndCSR(t, "web-1")
	for _, id := range []string{
		"", "Web-1", "web_1", "-web", "web-", "a..b", ".web", "web.", "web 1", "web/1",
		"../etc", "web-1:7443", "ünicode", strings.Repeat("a", 64),
		strings.Repeat("abcdefghi.", 25) + "abcd",
	} {
		t.Run(id, func(t *testing.T) {
			der, err := ca.SignAgent(csr, id)
			if err == nil {
				t.Fatalf("host id %q accepted", id)
			}
			if der != nil || !strings.Contains(err.Error(), "is not a valid host name") {
				t.Errorf("err = %v, want one naming the invalid host id", err)
			}
		})
	}
}

func TestValidHostIDAcceptsHostNames(t *testing.T) {
	for _, id := range []string{"web-1", "a", "1host", "db-1.example.com", "x--y",
		strings.Repeat("a", 63), strings.Repeat("abcdefghi.", 25) + "abc"} {
		if err := ValidHostID(id); err != nil {
			t.Errorf("ValidHostID(%q) = %v", id, err)
		}
	}
}

func TestSignAgentRejectsBadRequests(t *testing.T) {
	ca := newTestCA(t)
	_, good := mustKeyAndCSR(t, "web-1")
	tampered := slices.Clone(good)
	tampered[len(tampered)-1] ^= 0xff

	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weakCSR, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, weak)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, csr, want string
	}{
		{"garbage", "not a csr", "parse certificate request"},
		{"tampered signature", string(tampered), "bad signature"},
		{"weak key", string(weakCSR), "too small"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ca.SignAgent([]byte(tc.csr), "web-1")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestNewKeyAndCSR(t *testing.T) {
	keyPEM, csrDER := mustKeyAndCSR(t, "db-1")
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		t.Fatal(err)
	}
	if err := csr.CheckSignature(); err != nil || csr.Subject.CommonName != "db-1" {
		t.Errorf("csr: signature %v, CN %q", err, csr.Subject.CommonName)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("key is not a PKCS#8 PEM block")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !key.(*ecdsa.PrivateKey).PublicKey.Equal(csr.PublicKey) {
		t.Error("csr is not for the returned key")
	}

	if _, _, err := NewKeyAndCSR("Bad_Host"); err == nil {
		t.Error("NewKeyAndCSR accepted an invalid host name")
	}
}

func TestIssueServer(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	cert, err := ca.IssueServer(dir, []string{"Controller.Example", "10.1.2.3", "localhost", ""})
	if err != nil {
		t.Fatal(err)
	}

	assertMode(t, filepath.Join(dir, "server.key"), 0o600)
	assertMode(t, filepath.Join(dir, "server.crt"), 0o644)
	if len(cert.Certificate) != 2 || FingerprintOf(cert.Certificate[1]) != ca.Fingerprint() {
		t.Fatalf("chain has %d certificates, want leaf then the CA", len(cert.Certificate))
	}
	leaf := cert.Leaf
	if !slices.Equal(leaf.DNSNames, []string{"controller.example", "localhost"}) {
		t.Errorf("DNSNames = %v", leaf.DNSNames)
	}
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	if !slices.Equal(ips, []string{"10.1.2.3", "127.0.0.1", "::1"}) {
		t.Errorf("IPAddresses = %v", ips)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.CertPool(), DNSName: "controller.example"}); err != nil {
		t.Errorf("server certificate does not verify: %v", err)
	}

	// The files hold the same pair, chain included.
	onDisk := readFile(t, filepath.Join(dir, "server.crt"))
	if n := strings.Count(string(onDisk), "BEGIN CERTIFICATE"); n != 2 {
		t.Errorf("server.crt holds %d certificates, want 2", n)
	}

	if _, err := ca.IssueServer(t.TempDir(), []string{"bad_name"}); err == nil {
		t.Error("IssueServer accepted an invalid DNS name")
	}
}

func TestIssueOperator(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	certFile, keyFile, err := ca.IssueOperator(dir, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if certFile != filepath.Join(dir, "operator-alice@example.com.crt") ||
		keyFile != filepath.Join(dir, "operator-alice@example.com.key") {
		t.Errorf("files %s %s", certFile, keyFile)
	}
	assertMode(t, keyFile, 0o600)
	assertMode(t, certFile, 0o644)
	cert, err := readCertFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := IdentityOf(cert); !ok || id != (Identity{KindOperator, "alice@example.com"}) {
		t.Errorf("IdentityOf = %v, %v", id, ok)
	}
	if cert.Subject.CommonName != "alice@example.com" {
		t.Errorf("CN = %q", cert.Subject.CommonName)
	}

	for _, name := range []string{"", "../root", "a/b", ".hidden", "a b", strings.Repeat("x", 65)} {
		if _, _, err := ca.IssueOperator(t.TempDir(), name); err == nil {
			t.Errorf("operator name %q accepted", name)
		}
	}
}
