package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/pki"
	"github.com/arcanos-dev/arcanos/pkg/settings"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// enrollTimeout bounds the whole enrollment call.
const enrollTimeout = 30 * time.Second

// EnrollOptions says how to enroll with a controller.
type EnrollOptions struct {
	// Controller is the controller's address: host:port or unix:///path.sock.
	Controller string
	// Token is the single-use enrollment token (a secret: never logged).
	Token string
	// CAFingerprint pins the controller's CA: "sha256:<hex>".
	CAFingerprint string
	// Hostname is the host id asked for; this host's name (lower case) when "".
	Hostname string
	// Labels are sent with the request and kept for `arcanos-agent run`.
	Labels map[string]string
	// StateDir receives the key, certificates and enrollment record.
	StateDir string
	// Force replaces an existing enrollment in StateDir.
	Force bool
}

// Enroll makes a new key, asks the controller (pinned by its CA
// fingerprint) to sign it in exchange for the token, checks what comes back
// and writes into the state directory: agent.key (0600), agent.crt, ca.crt
// and enrollment.json (0644), the record last.
func Enroll(ctx context.Context, o EnrollOptions) (Enrollment, error) {
	fp, err := pki.ParseFingerprint(o.CAFingerprint)
	if err != nil {
		return Enrollment{}, fmt.Errorf("--ca-fingerprint: %w", err)
	}
	switch {
	case o.Controller == "":
		return Enrollment{}, errors.New("no controller address: use --controller host:port")
	case o.Token == "":
		return Enrollment{}, errors.New("no enrollment token: ask an operator for one (arcanosctl token create)")
	case o.StateDir == "":
		return Enrollment{}, errors.New("no state directory: set fleet.state_dir or use --state-dir")
	}
	hostname, err := hostnameOrDefault(o.Hostname)
	if err != nil {
		return Enrollment{}, err
	}
	if err := pki.ValidHostID(hostname); err != nil {
		return Enrollment{}, fmt.Errorf("host name %q cannot be a host id: %w (use --hostname)", hostname, err)
	}
	if err := settings.ValidateLabels(o.Labels); err != nil {
		return Enrollment{}, fmt.Errorf("--labels: %w", err)
	}
	state := State{Dir: o.StateDir}
	if _, err := os.Stat(state.Path(CertFile)); err == nil && !o.Force {
		return Enrollment{}, fmt.Errorf("%s is already enrolled (%s exists): use --force to enroll again",
			state.Dir, state.Path(CertFile))
	}

	keyPEM, csr, err := pki.NewKeyAndCSR(hostname)
	if err != nil {
		return Enrollment{}, fmt.Errorf("make key for %s: %w", hostname, err)
	}
	resp, err := requestCertificate(ctx, o.Controller, fp, &arcanosv1.EnrollRequest{
		Token: o.Token, Hostname: hostname, CsrDer: csr, Labels: o.Labels})
	if err != nil {
		return Enrollment{}, err
	}
	certPEM, caPEM, err := checkEnrollResponse(resp, keyPEM, fp)
	if err != nil {
		return Enrollment{}, fmt.Errorf("enrollment answer from %s: %w", o.Controller, err)
	}

	enr := Enrollment{Controller: o.Controller, HostID: resp.GetHostId(), Hostname: hostname,
		Labels: o.Labels, CAFingerprint: fp}
	if err := state.write(enr, keyPEM, certPEM, caPEM); err != nil {
		return Enrollment{}, err
	}
	return enr, nil
}

func requestCertificate(ctx context.Context, addr, fp string, req *arcanosv1.EnrollRequest) (*arcanosv1.EnrollResponse, error) {
	conn, err := dial(addr, pki.EnrollTLS(fp))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, enrollTimeout)
	defer cancel()
	resp, err := arcanosv1.NewAgentServiceClient(conn).Enroll(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("enroll with controller %s: %w", addr, err)
	}
	return resp, nil
}

// checkEnrollResponse verifies that the CA is the pinned one, that the
// certificate is for our key, verifies against that CA for client use and
// names the host id the answer says. It returns both as PEM.
func checkEnrollResponse(resp *arcanosv1.EnrollResponse, keyPEM []byte, fp string) (certPEM, caPEM []byte, err error) {
	if got := pki.FingerprintOf(resp.GetCaCertificateDer()); got != fp {
		return nil, nil, fmt.Errorf("CA certificate %s is not the pinned %s", got, fp)
	}
	ca, err := x509.ParseCertificate(resp.GetCaCertificateDer())
	if err != nil {
		return nil, nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(resp.GetCertificateDer())
	if err != nil {
		return nil, nil, fmt.Errorf("parse agent certificate: %w", err)
	}
	certPEM = pki.EncodeCertPEM(resp.GetCertificateDer())
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return nil, nil, fmt.Errorf("the certificate is not for this agent's key: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, nil, fmt.Errorf("the certificate does not verify against the CA: %w", err)
	}
	id, err := HostIDOf(cert)
	if err != nil {
		return nil, nil, err
	}
	if id != resp.GetHostId() {
		return nil, nil, fmt.Errorf("the certificate names host %q, the answer %q", id, resp.GetHostId())
	}
	return certPEM, pki.EncodeCertPEM(resp.GetCaCertificateDer()), nil
}

// write stores an enrollment; the record goes last, so a state directory
// with enrollment.json holds a complete set.
func (s State) write(enr Enrollment, keyPEM, certPEM, caPEM []byte) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("create state directory %s: %w", s.Dir, err)
	}
	record, err := json.MarshalIndent(enr, "", "  ")
	if err != nil {
		return fmt.Errorf("encode enrollment: %w", err)
	}
	files := []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{KeyFile, keyPEM, 0o600},
		{CertFile, certPEM, 0o644},
		{CAFile, caPEM, 0o644},
		{EnrollmentFile, append(record, '\n'), 0o644},
	}
	for _, f := range files {
		if err := writeFileAtomic(s.Dir, f.name, f.data, f.perm); err != nil {
			return fmt.Errorf("write %s: %w", s.Path(f.name), err)
		}
	}
	return nil
}
