// Package pki is the fleet's certificate authority: the controller's CA on
// disk, the certificates it issues (controller server, agents, operators),
// the TLS configurations of both ends of every connection, the identity of a
// gRPC peer taken from its verified client certificate, and enrollment
// tokens. It uses ECDSA P-256 keys throughout and TLS 1.3 only.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

const (
	caCertName = "ca.crt"
	caKeyName  = "ca.key"

	caLifetime   = 10 * 365 * 24 * time.Hour
	leafLifetime = 365 * 24 * time.Hour

	// clockSkew backdates NotBefore so a host whose clock runs a little
	// behind the controller's still accepts a certificate issued just now.
	clockSkew = 5 * time.Minute
)

// CA is the controller's certificate authority: a self-signed ECDSA P-256
// certificate and its key, kept in one directory.
type CA struct {
	cert     *x509.Certificate
	key      crypto.Signer
	certPath string
}

// LoadOrCreateCA loads the CA kept in dir (ca.crt, ca.key) or, when neither
// file exists, creates a new one valid for ten years. The key is written with
// mode 0600 through a temporary file and a rename; a key file readable by
// group or others is refused. Only one of the two files present is an error:
// the CA is never silently replaced, since every agent trusts it.
//
// LIMITATION: the CA key is stored unencrypted, guarded only by its file mode
// and the directory's; anyone who can read the file can mint identities.
// LIMITATION: two processes creating a CA in the same empty dir at once race
// (the last rename wins); the controller must be the only one using dir.
func LoadOrCreateCA(dir string) (*CA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create pki directory %s: %w", dir, err)
	}

	certPath := filepath.Join(dir, caCertName)
	keyPath := filepath.Join(dir, caKeyName)
	certExists, err := fileExists(certPath)
	if err != nil {
		return nil, err
	}
	keyExists, err := fileExists(keyPath)
	if err != nil {
		return nil, err
	}

	switch {
	case certExists && keyExists:
		return loadCA(certPath, keyPath)
	case !certExists && !keyExists:
		return createCA(certPath, keyPath)
	case certExists:
		return nil, fmt.Errorf("ca certificate %s exists without its key %s: restore the key, "+
			"or move both away to create a new CA (every agent must then enroll again)",
			certPath, keyPath)
	default:
		return nil, fmt.Errorf("ca key %s exists without its certificate %s: restore the "+
			"certificate, or move both away to create a new CA (every agent must then enroll again)",
			keyPath, certPath)
	}
}

func loadCA(certPath, keyPath string) (*CA, error) {
	key, err := readKeyFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}
	cert, err := readCertFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}

	if !cert.IsCA || !cert.BasicConstraintsValid {
		return nil, fmt.Errorf("ca certificate %s is not a CA certificate", certPath)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("ca key %s does not belong to ca certificate %s", keyPath, certPath)
	}
	if now := time.Now(); now.After(cert.NotAfter) {
		return nil, fmt.Errorf("ca certificate %s expired on %s: create a new CA and enroll "+
			"every agent again", certPath, cert.NotAfter.Format(time.DateOnly))
	}
	return &CA{cert: cert, key: key, certPath: certPath}, nil
}

func createCA(certPath, keyPath string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ca key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}

	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "arcanos fleet CA", Organization: []string{"arcanos"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("self-sign ca certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse new ca certificate: %w", err)
	}

	// The key goes first: a crash between the two renames leaves a key
	// without a certificate, which the next start reports instead of
	// replacing.
	if err := writeKeyFile(keyPath, key); err != nil {
		return nil, fmt.Errorf("create ca: %w", err)
	}
	if err := writeFileAtomic(certPath, encodeCertsPEM(der), 0o644); err != nil {
		return nil, fmt.Errorf("create ca: %w", err)
	}
	return &CA{cert: cert, key: key, certPath: certPath}, nil
}

// Fingerprint returns "sha256:<hex>" of the CA certificate's DER, the pin an
// agent passes to EnrollTLS.
func (ca *CA) Fingerprint() string { return FingerprintOf(ca.cert.Raw) }

// CertPool returns a pool holding only this CA, to verify peers with.
func (ca *CA) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return pool
}

// CertDER returns a copy of the CA certificate's DER (for EnrollResponse).
func (ca *CA) CertDER() []byte { return append([]byte(nil), ca.cert.Raw...) }

// CertFile returns the path of the CA certificate's PEM file (dir/ca.crt).
func (ca *CA) CertFile() string { return ca.certPath }

// FingerprintOf returns "sha256:<hex>" of a DER certificate, in the form
// CA.Fingerprint uses.
func FingerprintOf(der []byte) string {
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func fileExists(path string) (bool, error) {
	_, err := os.Stat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, fmt.Errorf("stat %s: %w", path, err)
}
