package control

import (
	"errors"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arcanos-dev/arcanos/controller/dispatch"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// StartPurge starts a run and streams its events until every host reached a
// final state. The run goes on if the operator goes away.
func (s *Service) StartPurge(req *arcanosv1.StartPurgeRequest,
	stream grpc.ServerStreamingServer[arcanosv1.StartPurgeResponse]) error {
	ctx := stream.Context()
	who, err := operator(ctx)
	if err != nil {
		return err
	}

	_, w, err := s.opts.Engine.Start(ctx, dispatch.Request{
		Selector:    req.GetSelector(),
		DryRun:      req.GetDryRun(),
		Phases:      req.GetPhases(),
		Batch:       req.GetBatch(),
		MaxFailures: int(req.GetMaxFailures()),
		Timeout:     time.Duration(req.GetTimeoutSeconds()) * time.Second,
		StartedBy:   who,
	}, true)
	switch {
	case errors.Is(err, dispatch.ErrInvalid):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, dispatch.ErrPrecondition):
		return status.Error(codes.FailedPrecondition, err.Error())
	case err != nil:
		return status.Errorf(codes.Internal, "start run: %v", err)
	}
	defer w.Close()

	for {
		select {
		case e, ok := <-w.Events():
			if !ok {
				if err := w.Err(); err != nil {
					return status.Errorf(codes.Aborted, "run %s: %v", w.RunID(), err)
				}
				return nil
			}
			if err := stream.Send(&arcanosv1.StartPurgeResponse{Event: e}); err != nil {
				return err
			}
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}
