// Package bootstrap prepares the controller's security on start: its CA (made
// on first start), a fresh server certificate, and on first start an
// operator certificate for "admin" with an arcanosctl config file pointing at
// this controller, so the first operator can connect at once.
package bootstrap

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/arcanos-dev/arcanos/pkg/pki"
)

// FirstOperator is the operator whose certificate the first start issues.
const FirstOperator = "admin"

// CLIConfigName is the arcanosctl config file written into the data dir.
const CLIConfigName = "arcanosctl.yaml"

// Result is what Setup prepared.
type Result struct {
	CA     *pki.CA
	Server tls.Certificate
	// CLIConfig is the path of the first operator's arcanosctl config.
	CLIConfig string
	// CreatedCLIConfig is true when this start wrote it.
	CreatedCLIConfig bool
}

// CLIConfig is the arcanosctl config file's content: where the controller is
// and the operator's certificate, key and the CA to verify the controller.
type CLIConfig struct {
	Controller string `yaml:"controller"`
	Cert       string `yaml:"cert"`
	Key        string `yaml:"key"`
	CA         string `yaml:"ca"`
}

// Setup loads or creates the CA in dataDir/pki, issues the server
// certificate for serverNames (plus this machine's host name when valid),
// and on first start the admin operator's certificate and CLI config.
func Setup(dataDir, listen string, serverNames []string) (*Result, error) {
	dataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir %s: %w", dataDir, err)
	}
	pkiDir := filepath.Join(dataDir, "pki")
	ca, err := pki.LoadOrCreateCA(pkiDir)
	if err != nil {
		return nil, err
	}

	names := append([]string(nil), serverNames...)
	if h, err := os.Hostname(); err == nil && pki.ValidHostID(strings.ToLower(h)) == nil {
		names = append(names, strings.ToLower(h))
	}
	if host := listenHost(listen); host != "" {
		names = append(names, host)
	}
	server, err := ca.IssueServer(pkiDir, names)
	if err != nil {
		return nil, fmt.Errorf("issue server certificate: %w", err)
	}

	res := &Result{CA: ca, Server: server, CLIConfig: filepath.Join(dataDir, CLIConfigName)}
	if _, err := os.Stat(res.CLIConfig); err == nil {
		return res, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("stat %s: %w", res.CLIConfig, err)
	}

	certFile, keyFile, err := ca.IssueOperator(pkiDir, FirstOperator)
	if err != nil {
		return nil, fmt.Errorf("issue the first operator's certificate: %w", err)
	}
	data, err := yaml.Marshal(CLIConfig{
		Controller: DialAddress(listen), Cert: certFile, Key: keyFile, CA: ca.CertFile(),
	})
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", res.CLIConfig, err)
	}
	if err := os.WriteFile(res.CLIConfig, data, 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", res.CLIConfig, err)
	}
	res.CreatedCLIConfig = true
	return res, nil
}

// DialAddress is the address a client on this machine dials to reach a
// controller listening on listen: a wildcard host becomes localhost.
func DialAddress(listen string) string {
	if strings.HasPrefix(listen, "unix://") {
		return listen
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// listenHost is the host part of a TCP listen address worth putting in the
// certificate, or "".
func listenHost(listen string) string {
	if strings.HasPrefix(listen, "unix://") {
		return ""
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil || host == "" {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return ""
	}
	return host
}
