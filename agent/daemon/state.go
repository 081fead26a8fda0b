// Package daemon is the agent's fleet side: enrollment with a controller and
// the long-lived connection over which the agent says hello, sends
// heartbeats, runs the purges it is asked to run (one at a time) and reports
// each phase and each result until the controller acknowledges them.
package daemon

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/arcanos-dev/arcanos/pkg/pki"
)

// Files of the state directory.
const (
	// KeyFile is the agent's private key (PEM, mode 0600).
	KeyFile = "agent.key"
	// CertFile is the agent's client certificate (PEM), naming its host id.
	CertFile = "agent.crt"
	// CAFile is the controller's CA certificate (PEM), pinned at enrollment.
	CAFile = "ca.crt"
	// EnrollmentFile records what enrollment said (JSON): controller
	// address, host id, hostname and labels.
	EnrollmentFile = "enrollment.json"
	// SpoolDir holds one file per report the controller has not
	// acknowledged yet.
	SpoolDir = "spool"
)

// State locates the files of an agent's state directory.
type State struct {
	Dir string
}

// Path returns the path of name inside the state directory.
func (s State) Path(name string) string { return filepath.Join(s.Dir, name) }

// Enrollment is what the agent keeps of its enrollment.
type Enrollment struct {
	Controller string            `json:"controller"`
	HostID     string            `json:"host_id"`
	Hostname   string            `json:"hostname"`
	Labels     map[string]string `json:"labels,omitempty"`
	// CAFingerprint is the pinned "sha256:<hex>" of the controller's CA.
	CAFingerprint string `json:"ca_fingerprint"`
}

// ReadEnrollment reads the enrollment record; an agent that never enrolled
// gets an error saying to run `arcanos-agent enroll`.
func (s State) ReadEnrollment() (Enrollment, error) {
	var e Enrollment
	data, err := os.ReadFile(s.Path(EnrollmentFile))
	if errors.Is(err, os.ErrNotExist) {
		return e, fmt.Errorf("this agent is not enrolled (no %s): run `arcanos-agent enroll` first",
			s.Path(EnrollmentFile))
	}
	if err != nil {
		return e, fmt.Errorf("read enrollment %s: %w", s.Path(EnrollmentFile), err)
	}
	if err := json.Unmarshal(data, &e); err != nil {
		return e, fmt.Errorf("parse enrollment %s: %w", s.Path(EnrollmentFile), err)
	}
	return e, nil
}

// HostID reads the host id from the agent's own certificate: the URI SAN
// arcanos://host/<id> that the controller's CA signed.
//
// LIMITATION: the certificate is valid for one year and the agent does not
// renew it; enroll again (--force) with a new token before it expires.
func (s State) HostID() (string, error) {
	data, err := os.ReadFile(s.Path(CertFile))
	if err != nil {
		return "", fmt.Errorf("read agent certificate %s: %w", s.Path(CertFile), err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return "", fmt.Errorf("agent certificate %s: no PEM certificate in it", s.Path(CertFile))
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", fmt.Errorf("parse agent certificate %s: %w", s.Path(CertFile), err)
	}
	id, err := HostIDOf(cert)
	if err != nil {
		return "", fmt.Errorf("agent certificate %s: %w", s.Path(CertFile), err)
	}
	return id, nil
}

// HostIDOf returns the host id named by a certificate's arcanos://host/ URI.
func HostIDOf(cert *x509.Certificate) (string, error) {
	id, ok := pki.IdentityOf(cert)
	if !ok || id.Kind != pki.KindHost {
		return "", errors.New("no arcanos://host/<id> identity in the certificate; enroll again")
	}
	return id.Name, nil
}
