package fleetsim

import (
	"context"
	"crypto/tls"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/arcanos-dev/arcanos/pkg/pki"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// Issuer gives one simulated agent its own key and client certificate for
// host. It is called from many goroutines at once.
type Issuer interface {
	Issue(ctx context.Context, host string) (tls.Certificate, error)
}

// CAIssuer signs agent certificates directly with the controller's CA, read
// from the controller's data dir: the fast way to give thousands of agents
// an identity. The certificates are the ones Enroll would sign.
type CAIssuer struct {
	ca *pki.CA
}

// NewCAIssuer loads the CA the controller keeps in pkiDir (dataDir/pki).
func NewCAIssuer(pkiDir string) (*CAIssuer, error) {
	ca, err := pki.LoadOrCreateCA(pkiDir)
	if err != nil {
		return nil, fmt.Errorf("load the controller's CA from %s: %w", pkiDir, err)
	}
	return &CAIssuer{ca: ca}, nil
}

// Issue makes host a new key and signs its certificate.
func (c *CAIssuer) Issue(_ context.Context, host string) (tls.Certificate, error) {
	keyPEM, csr, err := pki.NewKeyAndCSR(host)
	if err != nil {
		return tls.Certificate{}, err
	}
	der, err := c.ca.SignAgent(csr, host)
	if err != nil {
		return tls.Certificate{}, err
	}
	return keyPair(host, der, keyPEM)
}

// Enroller enrolls agents the way `arcanos-agent enroll` does: an operator
// creates a single-use token bound to the host name, and the agent sends it
// with its certificate request over the Enroll RPC, pinning the controller's
// CA by its fingerprint.
type Enroller struct {
	op   *Operator
	conn *grpc.ClientConn
}

// NewEnroller returns an enroller that gets tokens from op and enrolls at
// addr, pinning fingerprint. Enroll calls share one connection: they carry
// no client certificate, so an agent's identity does not depend on it.
func NewEnroller(op *Operator, addr, fingerprint string) (*Enroller, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(pki.EnrollTLS(fingerprint))))
	if err != nil {
		return nil, fmt.Errorf("enroll at %s: %w", addr, err)
	}
	return &Enroller{op: op, conn: conn}, nil
}

// Issue creates a token for host, makes host a key and enrolls it.
func (e *Enroller) Issue(ctx context.Context, host string) (tls.Certificate, error) {
	tok, err := e.op.Control.CreateEnrollmentToken(ctx, &arcanosv1.CreateEnrollmentTokenRequest{
		TtlSeconds: 3600, Hostname: host,
	})
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create enrollment token for %s: %w", host, err)
	}
	keyPEM, csr, err := pki.NewKeyAndCSR(host)
	if err != nil {
		return tls.Certificate{}, err
	}
	resp, err := arcanosv1.NewAgentServiceClient(e.conn).Enroll(ctx, &arcanosv1.EnrollRequest{
		Token: tok.GetToken(), Hostname: host, CsrDer: csr,
	})
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("enroll %s: %w", host, err)
	}
	if resp.GetHostId() != host {
		return tls.Certificate{}, fmt.Errorf("enroll %s: the controller bound the certificate to %q", host, resp.GetHostId())
	}
	return keyPair(host, resp.GetCertificateDer(), keyPEM)
}

// Close closes the enrollment connection.
func (e *Enroller) Close() error { return e.conn.Close() }

func keyPair(host string, certDER, keyPEM []byte) (tls.Certificate, error) {
	pair, err := tls.X509KeyPair(pki.EncodeCertPEM(certDER), keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("key pair of %s: %w", host, err)
	}
	return pair, nil
}
