package pki

import (
	"context"
	"crypto/x509"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// Identity is who a client certificate speaks for: Kind is KindHost or
// KindOperator, Name the host id or the operator's name.
type Identity struct {
	Kind string
	Name string
}

// String returns the identity as its URI, arcanos://<kind>/<name>.
func (id Identity) String() string { return identityURI(id.Kind, id.Name).String() }

// PeerIdentity returns the identity of the gRPC peer in ctx, taken from the
// leaf of its verified client certificate chain. It is false when the peer
// sent no certificate, the connection is not TLS, or the certificate carries
// no single valid arcanos identity. Unverified certificates are never read.
func PeerIdentity(ctx context.Context) (Identity, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok || p.AuthInfo == nil {
		return Identity{}, false
	}

	var info credentials.TLSInfo
	switch a := p.AuthInfo.(type) {
	case credentials.TLSInfo:
		info = a
	case *credentials.TLSInfo:
		if a == nil {
			return Identity{}, false
		}
		info = *a
	default:
		return Identity{}, false
	}

	chains := info.State.VerifiedChains
	if len(chains) == 0 || len(chains[0]) == 0 {
		return Identity{}, false
	}
	return IdentityOf(chains[0][0])
}

// IdentityOf returns the identity a certificate carries in its URI SANs (an
// agent uses it to learn its host id from its own certificate). It is false
// when the certificate has no arcanos URI, more than one, or an invalid one.
// It does not verify the certificate.
func IdentityOf(cert *x509.Certificate) (Identity, bool) {
	var found Identity
	n := 0
	for _, u := range cert.URIs {
		if u.Scheme != uriScheme {
			continue
		}
		n++
		id, ok := identityFromURI(u)
		if !ok {
			return Identity{}, false
		}
		found = id
	}
	if n != 1 {
		return Identity{}, false
	}
	return found, true
}
