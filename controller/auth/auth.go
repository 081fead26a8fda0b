// Package auth decides who may call what on the controller: AgentService.Enroll
// needs no client certificate (the token is the credential), Connect needs a
// host's certificate, every ControlService call an operator's. The caller's
// identity, taken from its verified client certificate, travels in the
// context to the handlers.
package auth

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arcanos-dev/arcanos/pkg/pki"
)

// Full method names the policy names.
const (
	MethodEnroll  = "/arcanos.v1.AgentService/Enroll"
	MethodConnect = "/arcanos.v1.AgentService/Connect"
	controlPrefix = "/arcanos.v1.ControlService/"
	healthPrefix  = "/grpc.health.v1.Health/"
)

// DevOperator is the identity every caller gets under --insecure-dev.
var DevOperator = pki.Identity{Kind: pki.KindOperator, Name: "insecure-dev"}

type identityKey struct{}

// FromContext returns the caller's identity, set by the interceptors.
func FromContext(ctx context.Context) (pki.Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(pki.Identity)
	return id, ok
}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id pki.Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// Policy authorizes calls. With Insecure set (plaintext development mode)
// there are no certificates: operators are DevOperator, and Connect trusts
// the host id an agent claims in its hello.
type Policy struct {
	Insecure bool
}

// authorize returns ctx with the caller's identity, or the status error that
// refuses the call.
func (p Policy) authorize(ctx context.Context, method string) (context.Context, error) {
	if p.Insecure {
		if strings.HasPrefix(method, controlPrefix) {
			return WithIdentity(ctx, DevOperator), nil
		}
		return ctx, nil
	}

	id, ok := pki.PeerIdentity(ctx)
	switch {
	case method == MethodEnroll, strings.HasPrefix(method, healthPrefix):
		if ok {
			ctx = WithIdentity(ctx, id)
		}
		return ctx, nil
	case method == MethodConnect:
		if err := require(id, ok, pki.KindHost, method, "an agent's"); err != nil {
			return nil, err
		}
	case strings.HasPrefix(method, controlPrefix):
		if err := require(id, ok, pki.KindOperator, method, "an operator's"); err != nil {
			return nil, err
		}
	default:
		return nil, status.Errorf(codes.PermissionDenied, "%s is not served to anyone", method)
	}
	return WithIdentity(ctx, id), nil
}

// require refuses a caller without a certificate (Unauthenticated) or with
// one of another kind (PermissionDenied).
func require(id pki.Identity, ok bool, kind, method, whose string) error {
	if !ok {
		return status.Errorf(codes.Unauthenticated,
			"%s needs %s client certificate; none was presented", method, whose)
	}
	if id.Kind != kind {
		return status.Errorf(codes.PermissionDenied,
			"%s needs %s client certificate, not the %s certificate of %s", method, whose, id.Kind, id.Name)
	}
	return nil
}

// Unary is the unary interceptor enforcing p.
func (p Policy) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo,
	handler grpc.UnaryHandler) (any, error) {
	ctx, err := p.authorize(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// Stream is the stream interceptor enforcing p.
func (p Policy) Stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo,
	handler grpc.StreamHandler) error {
	ctx, err := p.authorize(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return handler(srv, &stream{ServerStream: ss, ctx: ctx})
}

// stream carries the identity in its context.
type stream struct {
	grpc.ServerStream
	ctx context.Context
}

// Context returns the stream's context with the caller's identity.
func (s *stream) Context() context.Context { return s.ctx }
