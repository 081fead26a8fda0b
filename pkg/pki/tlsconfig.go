package pki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ServerTLS returns the controller's TLS configuration: TLS 1.3 only, cert as
// the server certificate, and client certificates verified against ca when
// given. A client without a certificate still connects (Enroll needs that);
// every other RPC must check PeerIdentity.
//
// LIMITATION: no revocation list is checked: a leaked agent or operator
// certificate stays valid until it expires (one year) or the CA is replaced.
func ServerTLS(cert tls.Certificate, ca *CA) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    ca.CertPool(),
	}
}

// ClientTLS returns the TLS configuration of an agent or arcanosctl: TLS 1.3
// only, the client certificate and key from PEM files, and the controller
// verified against the CA in caFile. A key file open to group or others is
// refused.
func ClientTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	if err := checkKeyFileMode(keyFile); err != nil {
		return nil, err
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load client certificate %s with key %s: %w", certFile, keyFile, err)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read ca certificate %s: %w", caFile, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("ca file %s holds no PEM certificate", caFile)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{pair},
		RootCAs:      pool,
	}, nil
}

// EnrollTLS returns the TLS configuration an agent enrolls with, before it
// trusts any CA: no client certificate, and the controller accepted only if
// its chain holds a CA certificate whose sha256 fingerprint is fingerprint
// and its server certificate verifies against that CA (the way kubeadm join
// pins the cluster CA). A wrong pin fails the handshake with an error saying
// the fingerprint did not match; a malformed one fails it saying so.
func EnrollTLS(fingerprint string) *tls.Config {
	pin, pinErr := ParseFingerprint(fingerprint)
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		// The default verification would need a trusted root; the pin in
		// VerifyConnection replaces it, and VerifyConnection runs even when
		// InsecureSkipVerify is set.
		InsecureSkipVerify: true, //nolint:gosec // verified against the pinned CA below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if pinErr != nil {
				return pinErr
			}
			return verifyPinned(cs, pin)
		},
	}
}

// ParseFingerprint checks a CA fingerprint of the form "sha256:<64 hex
// digits>" and returns it in the canonical lowercase form.
func ParseFingerprint(s string) (string, error) {
	fp := strings.ToLower(strings.TrimSpace(s))
	digits, ok := strings.CutPrefix(fp, "sha256:")
	if b, err := hex.DecodeString(digits); !ok || err != nil || len(b) != 32 {
		return "", fmt.Errorf("ca fingerprint %q is malformed: want sha256:<64 hex digits>, "+
			"as 'arcanosctl token create' prints it", s)
	}
	return fp, nil
}

// verifyPinned finds the pinned CA among the certificates after the leaf and
// verifies the leaf as a server certificate issued by it.
func verifyPinned(cs tls.ConnectionState, pin string) error {
	certs := cs.PeerCertificates
	if len(certs) == 0 {
		return errors.New("controller presented no certificate")
	}

	var anchor *x509.Certificate
	intermediates := x509.NewCertPool()
	for _, c := range certs[1:] {
		if anchor == nil && c.IsCA && FingerprintOf(c.Raw) == pin {
			anchor = c
			continue
		}
		intermediates.AddCert(c)
	}
	if anchor == nil {
		return fmt.Errorf("ca fingerprint did not match: the controller's certificate chain "+
			"holds no CA with fingerprint %s; check the fingerprint and the controller address", pin)
	}

	roots := x509.NewCertPool()
	roots.AddCert(anchor)
	opts := x509.VerifyOptions{
		Roots:         roots,
		Intermediates: intermediates,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		// LIMITATION: ServerName is empty when the controller is dialled by
		// IP address (no SNI), so the address is not checked against the
		// certificate then; the pin still binds the connection to the CA.
		DNSName: cs.ServerName,
	}
	if _, err := certs[0].Verify(opts); err != nil {
		return fmt.Errorf("controller certificate does not verify against the pinned CA %s: %w",
			pin, err)
	}
	return nil
}
