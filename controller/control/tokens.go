package control

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/arcanos-dev/arcanos/pkg/pki"
	"github.com/arcanos-dev/arcanos/pkg/store"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// Token lifetimes: the default, and the most an operator may ask for.
const (
	defaultTokenTTL = time.Hour
	maxTokenTTL     = 7 * 24 * time.Hour
)

// CreateEnrollmentToken creates a single-use token, optionally bound to one
// host name, and returns its secret (shown once; only its hash is stored)
// with the CA fingerprint the agent pins.
func (s *Service) CreateEnrollmentToken(ctx context.Context,
	req *arcanosv1.CreateEnrollmentTokenRequest) (*arcanosv1.CreateEnrollmentTokenResponse, error) {
	who, err := operator(ctx)
	if err != nil {
		return nil, err
	}
	ttl := time.Duration(req.GetTtlSeconds()) * time.Second
	switch {
	case req.GetTtlSeconds() < 0:
		return nil, status.Error(codes.InvalidArgument, "ttl must not be negative")
	case ttl == 0:
		ttl = defaultTokenTTL
	case ttl > maxTokenTTL:
		return nil, status.Errorf(codes.InvalidArgument, "ttl %s is longer than the %s allowed", ttl, maxTokenTTL)
	}
	if h := req.GetHostname(); h != "" {
		if err := pki.ValidHostID(h); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
	}

	secret, hash, err := pki.NewToken()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "create token: %v", err)
	}
	expires := time.Now().Add(ttl)
	err = s.opts.Store.PutToken(ctx, store.Token{
		Hash: hash, Hostname: req.GetHostname(), ExpiresAt: expires, CreatedBy: who,
	})
	if err != nil {
		return nil, storeStatus(err, "store token")
	}
	s.log.Info("enrollment token created", "by", who, "hostname", req.GetHostname(), "expires", expires)
	return &arcanosv1.CreateEnrollmentTokenResponse{
		Token:         secret,
		ExpiresAt:     timestamppb.New(expires),
		CaFingerprint: s.opts.Fingerprint,
	}, nil
}

// ListSchedules returns the configured schedules with their next start.
func (s *Service) ListSchedules(ctx context.Context, _ *arcanosv1.ListSchedulesRequest) (*arcanosv1.ListSchedulesResponse, error) {
	if _, err := operator(ctx); err != nil {
		return nil, err
	}
	if s.opts.Schedules == nil {
		return &arcanosv1.ListSchedulesResponse{}, nil
	}
	return &arcanosv1.ListSchedulesResponse{Schedules: s.opts.Schedules.List()}, nil
}
