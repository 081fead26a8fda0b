// Package agentsvc serves AgentService: agents enroll with a single-use token
// and then keep one stream open, over which they say hello, send heartbeats
// and reports, and receive commands and acknowledgements.
package agentsvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arcanos-dev/arcanos/controller/dispatch"
	"github.com/arcanos-dev/arcanos/controller/registry"
	"github.com/arcanos-dev/arcanos/pkg/pki"
	"github.com/arcanos-dev/arcanos/pkg/store"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// TokenStore is the part of the store enrollment uses.
type TokenStore interface {
	ConsumeToken(ctx context.Context, hash, hostname string, now time.Time) (store.Token, error)
}

// Options configures the service.
type Options struct {
	Tokens   TokenStore
	CA       *pki.CA
	Registry *registry.Registry
	Engine   *dispatch.Engine
	// Heartbeat is the interval sent to agents; a stream silent for
	// Deadline is dropped.
	Heartbeat time.Duration
	Deadline  time.Duration
	// Insecure trusts the host id in hello (--insecure-dev only).
	Insecure bool
	// Version is the controller's version, sent in Welcome.
	Version string
	Log     *slog.Logger
}

// Service implements arcanosv1.AgentServiceServer.
type Service struct {
	arcanosv1.UnimplementedAgentServiceServer
	opts Options
	log  *slog.Logger
}

// New returns the service.
func New(opts Options) *Service {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	return &Service{opts: opts, log: opts.Log}
}

// Enroll exchanges a single-use token for a client certificate bound to the
// requested host name, which becomes the host's id.
func (s *Service) Enroll(ctx context.Context, req *arcanosv1.EnrollRequest) (*arcanosv1.EnrollResponse, error) {
	hostID := req.GetHostname()
	if err := pki.ValidHostID(hostID); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "enroll: %v", err)
	}
	if err := checkLabels(req.GetLabels()); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "enroll host %s: %v", hostID, err)
	}
	if strings.TrimSpace(req.GetToken()) == "" {
		return nil, status.Error(codes.Unauthenticated,
			"enroll: no token given; create one with arcanosctl token create")
	}
	if s.opts.CA == nil {
		return nil, status.Error(codes.FailedPrecondition,
			"enroll: this controller runs without a CA (--insecure-dev)")
	}

	// Sign first, so a bad request does not burn the token; the
	// certificate is thrown away unless the token is good.
	der, err := s.opts.CA.SignAgent(req.GetCsrDer(), hostID)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "enroll: %v", err)
	}

	tok, err := s.opts.Tokens.ConsumeToken(ctx, pki.HashToken(req.GetToken()), hostID, time.Now())
	if errors.Is(err, store.ErrTokenInvalid) {
		s.log.Warn("enrollment refused", "host", hostID, "reason", err)
		return nil, status.Errorf(codes.PermissionDenied, "enroll host %s: %v", hostID, err)
	}
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "enroll host %s: %v", hostID, err)
	}

	// Taking over an enrolled name needs a token an operator bound to that
	// name: with any token, whoever holds one could become an existing host.
	// LIMITATION: the earlier certificate of a re-enrolled host stays valid
	// until it expires, as there is no revocation yet.
	if s.opts.Registry.Host(hostID) != nil {
		if tok.Hostname == "" {
			s.log.Warn("enrollment refused: host already enrolled and the token is not bound to it", "host", hostID)
			return nil, status.Errorf(codes.PermissionDenied,
				"enroll host %s: it is already enrolled; to enroll it again use a token bound to it "+
					"(arcanosctl token create --hostname %s)", hostID, hostID)
		}
		s.log.Warn("host enrolled again; its earlier certificate stays valid", "host", hostID)
	}
	if err := s.opts.Registry.Enrolled(ctx, hostID, req.GetLabels()); err != nil {
		return nil, status.Errorf(codes.Unavailable, "enroll host %s: %v", hostID, err)
	}
	s.log.Info("host enrolled", "host", hostID, "token_by", tok.CreatedBy, "labels", len(req.GetLabels()))
	return &arcanosv1.EnrollResponse{
		HostId:           hostID,
		CertificateDer:   der,
		CaCertificateDer: s.opts.CA.CertDER(),
	}, nil
}

// checkLabels refuses labels a selector or an overlay key could not name.
func checkLabels(labels map[string]string) error {
	for k, v := range labels {
		if strings.TrimSpace(k) == "" || strings.ContainsAny(k, "=,! \t\n") {
			return fmt.Errorf("label key %q must be non-empty, without '=', ',', '!' or spaces", k)
		}
		if strings.ContainsAny(v, ",\n") || len(v) > 256 {
			return fmt.Errorf("label %s=%q: values hold no commas or newlines, at most 256 bytes", k, v)
		}
	}
	return nil
}
