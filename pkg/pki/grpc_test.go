package pki

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// identityRecorder is a server interceptor that records what PeerIdentity
// says for each call, the way the controller's interceptors will ask.
type identityRecorder struct {
	mu    sync.Mutex
	calls []recordedIdentity
}

type recordedIdentity struct {
	id Identity
	ok bool
}

func (r *identityRecorder) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo,
	handler grpc.UnaryHandler) (any, error) {
	id, ok := PeerIdentity(ctx)
	r.mu.Lock()
	r.calls = append(r.calls, recordedIdentity{id, ok})
	r.mu.Unlock()
	return handler(ctx, req)
}

func (r *identityRecorder) snapshot() []recordedIdentity {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recordedIdentity(nil), r.calls...)
}

// startServer serves the gRPC health service on 127.0.0.1:0 with cfg.
func startServer(t *testing.T, cfg *tls.Config) (string, *identityRecorder) {
	t.Helper()
	rec := &identityRecorder{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(cfg)), grpc.UnaryInterceptor(rec.unary))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String(), rec
}

// check makes one health check over a new connection with cfg.
func check(t *testing.T, addr string, cfg *tls.Config) error {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The deadline only keeps a broken test from hanging; nothing is timed.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return err
}

// agentFiles enrolls hostID the way an agent does (key and CSR, SignAgent)
// and writes the agent's key, certificate and CA files.
func agentFiles(t *testing.T, ca *CA, hostID string) (certFile, keyFile string) {
	t.Helper()
	keyPEM, csr := mustKeyAndCSR(t, hostID)
	der, err := ca.SignAgent(csr, hostID)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "agent.crt"), filepath.Join(dir, "agent.key")
	if err := os.WriteFile(certFile, EncodeCertPEM(der), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func mustClientTLS(t *testing.T, certFile, keyFile, caFile string) *tls.Config {
	t.Helper()
	cfg, err := ClientTLS(certFile, keyFile, caFile)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestTLSOverGRPC(t *testing.T) {
	ca := newTestCA(t)
	serverCert, err := ca.IssueServer(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	addr, rec := startServer(t, ServerTLS(serverCert, ca))

	other := newTestCA(t)
	agentCert, agentKey := agentFiles(t, ca, "web-1")
	opCert, opKey, err := ca.IssueOperator(t.TempDir(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	strayCert, strayKey := agentFiles(t, other, "web-1")

	noCert := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: ca.CertPool()}
	tls12 := &tls.Config{MaxVersion: tls.VersionTLS12, RootCAs: ca.CertPool()}
	wrongPin := "sha256:" + strings.Repeat("ab", 32)

	for _, tc := range []struct {
		name    string
		cfg     *tls.Config
		wantErr string // "" = the call succeeds
		// serverRefuses: the server ends the connection after a TLS 1.3
		// handshake the client saw complete, so the gRPC error varies (a
		// broken pipe, an EOF); the server's alert is read on a raw conn.
		serverRefuses bool
		wantID        Identity
		wantOK        bool
	}{
		{name: "agent certificate gives its host id",
			cfg:    mustClientTLS(t, agentCert, agentKey, ca.CertFile()),
			wantID: Identity{KindHost, "web-1"}, wantOK: true},
		{name: "operator certificate gives the operator",
			cfg:    mustClientTLS(t, opCert, opKey, ca.CertFile()),
			wantID: Identity{KindOperator, "admin"}, wantOK: true},
		{name: "client without a certificate connects with no identity", cfg: noCert},
		{name: "enroll with the right fingerprint connects", cfg: EnrollTLS(ca.Fingerprint())},
		{name: "enroll with an uppercase fingerprint connects",
			cfg: EnrollTLS(strings.ToUpper(ca.Fingerprint()))},
		{name: "enroll with a wrong fingerprint fails", cfg: EnrollTLS(wrongPin),
			wantErr: "fingerprint did not match"},
		{name: "enroll with a malformed fingerprint fails", cfg: EnrollTLS("abc"),
			wantErr: "malformed"},
		{name: "client certificate of another CA is rejected",
			cfg:           mustClientTLS(t, strayCert, strayKey, ca.CertFile()),
			serverRefuses: true},
		{name: "client trusting another CA rejects the controller",
			cfg:     mustClientTLS(t, agentCert, agentKey, other.CertFile()),
			wantErr: "certificate signed by unknown authority"},
		{name: "TLS 1.2 client is refused", cfg: tls12, wantErr: "protocol version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(rec.snapshot())
			err := check(t, addr, tc.cfg)
			calls := rec.snapshot()[before:]
			t.Logf("call error: %v", err)

			if tc.serverRefuses {
				if err == nil {
					t.Fatal("call succeeded, want the connection refused")
				}
				alert := rawAlert(t, addr, tc.cfg)
				t.Logf("server alert: %s", alert)
				if !strings.Contains(alert, "unknown certificate authority") {
					t.Errorf("server alert %q, want a certificate alert", alert)
				}
			}
			if tc.wantErr != "" || tc.serverRefuses {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				if len(calls) != 0 {
					t.Errorf("a refused connection reached the server: %v", calls)
				}
				return
			}
			if err != nil {
				t.Fatalf("health check: %v", err)
			}
			if len(calls) != 1 {
				t.Fatalf("server saw %d calls, want 1", len(calls))
			}
			if calls[0].ok != tc.wantOK || calls[0].id != tc.wantID {
				t.Errorf("PeerIdentity = %v, %v; want %v, %v", calls[0].id, calls[0].ok,
					tc.wantID, tc.wantOK)
			}
		})
	}
}

// TestEnrollTLSRejectsCopiedCA proves the pin is not satisfied by a chain
// that merely carries the public CA certificate: the server certificate must
// be issued by it.
func TestEnrollTLSRejectsCopiedCA(t *testing.T) {
	ca := newTestCA(t)
	impostor := newTestCA(t)
	fake, err := impostor.IssueServer(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	fake.Certificate = [][]byte{fake.Certificate[0], ca.CertDER()}
	addr, rec := startServer(t, ServerTLS(fake, impostor))

	err = check(t, addr, EnrollTLS(ca.Fingerprint()))
	if err == nil || !strings.Contains(err.Error(), "does not verify against the pinned CA") {
		t.Fatalf("err = %v, want the server certificate refused", err)
	}
	if calls := rec.snapshot(); len(calls) != 0 {
		t.Errorf("the impostor received %d calls", len(calls))
	}
}

// TestEnrollTLSChecksServerName proves the pinned verification still checks
// the name dialled when there is one.
func TestEnrollTLSChecksServerName(t *testing.T) {
	ca := newTestCA(t)
	serverCert, err := ca.IssueServer(t.TempDir(), []string{"controller.example"})
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := startServer(t, ServerTLS(serverCert, ca))

	good := EnrollTLS(ca.Fingerprint())
	good.ServerName = "controller.example"
	if err := check(t, addr, good); err != nil {
		t.Errorf("enroll via a name in the certificate: %v", err)
	}
	bad := EnrollTLS(ca.Fingerprint())
	bad.ServerName = "elsewhere.example"
	if err := check(t, addr, bad); err == nil || !strings.Contains(err.Error(), "elsewhere.example") {
		t.Errorf("err = %v, want the name mismatch", err)
	}
}

// rawAlert completes a TLS handshake with cfg and returns the error of the
// first read, which carries the alert of a server that refused the client.
func rawAlert(t *testing.T, addr string, cfg *tls.Config) string {
	t.Helper()
	cfg = cfg.Clone()
	cfg.ServerName = "127.0.0.1"
	cfg.NextProtos = []string{"h2"}
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return err.Error()
	}
	defer conn.Close()
	if _, err := conn.Read(make([]byte, 1)); err != nil {
		return err.Error()
	}
	return ""
}

func TestClientTLSRefusesOpenKey(t *testing.T) {
	ca := newTestCA(t)
	certFile, keyFile := agentFiles(t, ca, "web-1")
	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ClientTLS(certFile, keyFile, ca.CertFile()); err == nil ||
		!strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("err = %v, want the open key refused", err)
	}
}
