package pki

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/url"
	"testing"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

func TestPeerIdentityReadsOnlyVerifiedChains(t *testing.T) {
	ca := newTestCA(t)
	certFile, _, err := ca.IssueOperator(t.TempDir(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	opCert, err := readCertFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	withPeer := func(info credentials.AuthInfo) context.Context {
		return peer.NewContext(t.Context(), &peer.Peer{AuthInfo: info})
	}

	for _, tc := range []struct {
		name string
		ctx  context.Context
		ok   bool
	}{
		{"no peer", t.Context(), false},
		{"plaintext peer", withPeer(plainAuth{}), false},
		{"unverified certificate only", withPeer(credentials.TLSInfo{State: tls.ConnectionState{
			PeerCertificates: []*x509.Certificate{opCert}}}), false},
		{"verified chain", withPeer(credentials.TLSInfo{State: tls.ConnectionState{
			PeerCertificates: []*x509.Certificate{opCert},
			VerifiedChains:   [][]*x509.Certificate{{opCert}}}}), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, ok := PeerIdentity(tc.ctx)
			if ok != tc.ok {
				t.Fatalf("PeerIdentity ok = %v, want %v", ok, tc.ok)
			}
			if ok && id != (Identity{KindOperator, "admin"}) {
				t.Errorf("PeerIdentity = %v", id)
			}
		})
	}
}

// plainAuth is the AuthInfo of a connection without TLS.
type plainAuth struct{}

func (plainAuth) AuthType() string { return "insecure" }

func TestIdentityOf(t *testing.T) {
	u := func(s string) *url.URL {
		parsed, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return parsed
	}
	for _, tc := range []struct {
		name string
		uris []string
		want Identity
		ok   bool
	}{
		{"host", []string{"arcanos://host/web-1"}, Identity{KindHost, "web-1"}, true},
		{"operator", []string{"arcanos://operator/admin"}, Identity{KindOperator, "admin"}, true},
		{"other schemes ignored", []string{"spiffe://x/y", "arcanos://host/db-1"},
			Identity{KindHost, "db-1"}, true},
		{"no uri", nil, Identity{}, false},
		{"foreign scheme only", []string{"spiffe://host/web-1"}, Identity{}, false},
		{"two identities", []string{"arcanos://host/web-1", "arcanos://operator/admin"}, Identity{}, false},
		{"unknown kind", []string{"arcanos://admin/root"}, Identity{}, false},
		{"invalid host id", []string{"arcanos://host/Web_1"}, Identity{}, false},
		{"nested path", []string{"arcanos://host/web-1/x"}, Identity{}, false},
		{"query", []string{"arcanos://host/web-1?as=db-1"}, Identity{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert := &x509.Certificate{}
			for _, s := range tc.uris {
				cert.URIs = append(cert.URIs, u(s))
			}
			got, ok := IdentityOf(cert)
			if ok != tc.ok || got != tc.want {
				t.Errorf("IdentityOf = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
