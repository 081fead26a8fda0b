// Package control serves ControlService, the operators' side of the
// controller (arcanosctl): purges and their live events, hosts, run history
// and drift, the central allowlist, enrollment tokens and schedules. Every
// call carries an operator's identity (see controller/auth).
package control

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arcanos-dev/arcanos/controller/auth"
	"github.com/arcanos-dev/arcanos/controller/dispatch"
	"github.com/arcanos-dev/arcanos/controller/registry"
	"github.com/arcanos-dev/arcanos/pkg/store"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// Schedules lists the configured schedules with their next start.
type Schedules interface {
	List() []*arcanosv1.Schedule
}

// Options configures the service.
type Options struct {
	Store    store.Store
	Registry *registry.Registry
	Engine   *dispatch.Engine
	// Fingerprint is the CA's, returned with enrollment tokens ("" under
	// --insecure-dev).
	Fingerprint string
	Schedules   Schedules
	Log         *slog.Logger
}

// Service implements arcanosv1.ControlServiceServer.
type Service struct {
	arcanosv1.UnimplementedControlServiceServer
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

// operator names the caller, as recorded in runs, allowlist versions and
// tokens.
func operator(ctx context.Context) (string, error) {
	id, ok := auth.FromContext(ctx)
	if !ok {
		return "", status.Error(codes.Unauthenticated, "no operator identity")
	}
	return id.Name, nil
}

// storeStatus maps a store error to the status an operator sees.
func storeStatus(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return status.Errorf(codes.NotFound, "%s: %v", what, err)
	case errors.Is(err, store.ErrVersionConflict):
		return status.Errorf(codes.FailedPrecondition, "%s: %v", what, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	return status.Errorf(codes.Internal, "%s: %v", what, err)
}

// runStatus is storeStatus for reading run runID: a run that is not there
// is named once, with where to find the runs kept.
func runStatus(err error, runID string) error {
	if errors.Is(err, store.ErrNotFound) {
		return status.Errorf(codes.NotFound, "no run %q (pruned, or never started); "+
			"arcanosctl runs list shows the runs kept", runID)
	}
	return storeStatus(err, "get run "+runID)
}

// limit turns a request's limit into one the store is given: def when
// unset, never more than max.
func limit(n int32, def, max int) int {
	switch {
	case n <= 0:
		return def
	case int(n) > max:
		return max
	}
	return int(n)
}
