package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// IssueServer issues a new controller server certificate for hosts (DNS
// names or IP addresses; localhost, 127.0.0.1 and ::1 are always added),
// writes it with the CA certificate after it to dir/server.crt and its key to
// dir/server.key (0600), and returns it ready for ServerTLS. The chain carries
// the CA so that an enrolling agent can find the CA it pins.
func (ca *CA) IssueServer(dir string, hosts []string) (tls.Certificate, error) {
	var dnsNames []string
	var ips []net.IP
	seen := map[string]bool{}
	for _, h := range append(append([]string(nil), hosts...), "localhost", "127.0.0.1", "::1") {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
			continue
		}
		if reason := hostnameProblem(h); reason != "" {
			return tls.Certificate{}, fmt.Errorf("server certificate name %q: %s", h, reason)
		}
		dnsNames = append(dnsNames, h)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate server key: %w", err)
	}
	cn := "arcanos-controller"
	if len(dnsNames) > 0 {
		cn = dnsNames[0]
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: []string{"arcanos"}},
		DNSNames:    dnsNames,
		IPAddresses: ips,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, leaf, err := ca.sign(tmpl, key.Public())
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue server certificate: %w", err)
	}

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("create directory %s: %w", dir, err)
	}
	if err := writeKeyFile(filepath.Join(dir, "server.key"), key); err != nil {
		return tls.Certificate{}, fmt.Errorf("write server key: %w", err)
	}
	certPath := filepath.Join(dir, "server.crt")
	if err := writeFileAtomic(certPath, encodeCertsPEM(der, ca.cert.Raw), 0o644); err != nil {
		return tls.Certificate{}, fmt.Errorf("write server certificate: %w", err)
	}
	return tls.Certificate{
		Certificate: [][]byte{der, ca.cert.Raw},
		PrivateKey:  key,
		Leaf:        leaf,
	}, nil
}

// SignAgent signs an agent's certificate request as a client certificate for
// hostID, valid one year. The identity (URI arcanos://host/<hostID>, common
// name hostID) is decided here: every name and SAN the request asks for is
// ignored. The request's signature must verify, proving the agent holds the
// key. It returns the certificate's DER.
//
// LIMITATION: there is no renewal: an agent must enroll again (new token)
// before its certificate expires a year after enrollment.
func (ca *CA) SignAgent(csrDER []byte, hostID string) ([]byte, error) {
	if err := ValidHostID(hostID); err != nil {
		return nil, err
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, fmt.Errorf("parse certificate request for host %s: %w", hostID, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("certificate request for host %s has a bad signature: %w", hostID, err)
	}
	if err := acceptablePublicKey(csr.PublicKey); err != nil {
		return nil, fmt.Errorf("certificate request for host %s: %w", hostID, err)
	}

	der, _, err := ca.sign(clientTemplate(KindHost, hostID), csr.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("sign agent certificate for host %s: %w", hostID, err)
	}
	return der, nil
}

// IssueOperator issues a client certificate for the operator name, valid one
// year, and writes it to dir/operator-<name>.crt and its key to
// dir/operator-<name>.key (0600).
func (ca *CA) IssueOperator(dir, name string) (certFile, keyFile string, err error) {
	if err := validOperatorName(name); err != nil {
		return "", "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("generate key for operator %s: %w", name, err)
	}
	der, _, err := ca.sign(clientTemplate(KindOperator, name), key.Public())
	if err != nil {
		return "", "", fmt.Errorf("issue certificate for operator %s: %w", name, err)
	}

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("create directory %s: %w", dir, err)
	}
	certFile = filepath.Join(dir, "operator-"+name+".crt")
	keyFile = filepath.Join(dir, "operator-"+name+".key")
	if err := writeKeyFile(keyFile, key); err != nil {
		return "", "", fmt.Errorf("write key for operator %s: %w", name, err)
	}
	if err := writeFileAtomic(certFile, encodeCertsPEM(der), 0o644); err != nil {
		return "", "", fmt.Errorf("write certificate for operator %s: %w", name, err)
	}
	return certFile, keyFile, nil
}

// NewKeyAndCSR creates an agent's ECDSA P-256 key (PKCS#8 PEM, to be written
// with mode 0600) and a certificate request for hostname signed with it.
func NewKeyAndCSR(hostname string) (keyPEM, csrDER []byte, err error) {
	if err := ValidHostID(hostname); err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key for host %s: %w", hostname, err)
	}
	csrDER, err = x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: hostname},
	}, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate request for host %s: %w", hostname, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode key for host %s: %w", hostname, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), csrDER, nil
}

// EncodeCertPEM encodes DER certificates (such as EnrollResponse's) as PEM,
// the form ClientTLS reads.
func EncodeCertPEM(ders ...[]byte) []byte { return encodeCertsPEM(ders...) }

func clientTemplate(kind, name string) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: name, Organization: []string{"arcanos"}},
		URIs:        []*url.URL{identityURI(kind, name)},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

// sign fills in the serial number and validity of tmpl and signs it with the
// CA; a leaf never outlives the CA.
func (ca *CA) sign(tmpl *x509.Certificate, pub crypto.PublicKey) ([]byte, *x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl.SerialNumber = serial
	tmpl.NotBefore = now.Add(-clockSkew)
	tmpl.NotAfter = now.Add(leafLifetime)
	if tmpl.NotAfter.After(ca.cert.NotAfter) {
		tmpl.NotAfter = ca.cert.NotAfter
	}

	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse issued certificate: %w", err)
	}
	return der, cert, nil
}

func newSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generate certificate serial number: %w", err)
	}
	return serial, nil
}

// acceptablePublicKey refuses keys too weak to identify a host.
func acceptablePublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve.Params().BitSize < 256 {
			return fmt.Errorf("ecdsa key of %d bits is too small (want P-256 or larger)",
				k.Curve.Params().BitSize)
		}
	case ed25519.PublicKey:
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("rsa key of %d bits is too small (want 2048 or more)", k.N.BitLen())
		}
	default:
		return fmt.Errorf("unsupported public key type %T", pub)
	}
	return nil
}
