package agentsvc

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/arcanos-dev/arcanos/controller/auth"
	"github.com/arcanos-dev/arcanos/controller/registry"
	"github.com/arcanos-dev/arcanos/pkg/pki"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

type connectStream = grpc.BidiStreamingServer[arcanosv1.ConnectRequest, arcanosv1.ConnectResponse]

// errSilent ends a stream that sent nothing within the heartbeat deadline.
var errSilent = status.Error(codes.DeadlineExceeded, "no message within the heartbeat deadline; stream dropped")

// Connect serves one agent's stream: hello (whose host id must be the
// certificate's), then reports stored and acknowledged, heartbeats, and
// commands from the send queue. Reading and writing run apart, so a slow
// store write never delays the commands, and a slow agent only fills its own
// bounded queue.
func (s *Service) Connect(stream connectStream) error {
	ctx, cancel := context.WithCancelCause(stream.Context())
	defer cancel(nil)

	hello, err := s.recvHello(ctx, stream)
	if err != nil {
		return err
	}
	hostID, err := s.hostOf(ctx, hello)
	if err != nil {
		s.log.Warn("agent stream refused", "err", err)
		return err
	}

	sess := registry.NewSession(hostID, func(reason error) { cancel(reason) })
	if err := s.opts.Registry.Attach(ctx, sess, hello); err != nil {
		return status.Errorf(codes.Unavailable, "register host %s: %v", hostID, err)
	}
	s.log.Info("agent connected", "host", hostID, "version", hello.GetAgentVersion(),
		"running_run", hello.GetRunningRunId())
	defer func() {
		sess.Drop(context.Canceled)
		if s.opts.Registry.Detach(context.WithoutCancel(ctx), sess) {
			s.opts.Engine.Disconnected(hostID)
		}
		s.log.Info("agent disconnected", "host", hostID, "reason", context.Cause(ctx))
	}()

	_ = sess.Send(&arcanosv1.ConnectResponse{Msg: &arcanosv1.ConnectResponse_Welcome{
		Welcome: &arcanosv1.Welcome{
			ControllerVersion: s.opts.Version,
			HeartbeatInterval: durationpb.New(s.opts.Heartbeat),
			PhasesByReference: true,
		},
	}})

	watchdog := time.AfterFunc(s.opts.Deadline, func() { sess.Drop(errSilent) })
	defer watchdog.Stop()
	go s.readLoop(ctx, stream, sess, watchdog)

	for {
		select {
		case msg := <-sess.Queue():
			if err := stream.Send(msg); err != nil {
				return err
			}
		case <-ctx.Done():
			return dropStatus(context.Cause(ctx))
		}
	}
}

// recvHello waits up to the heartbeat deadline for the stream's first
// message, which must be a hello.
func (s *Service) recvHello(ctx context.Context, stream connectStream) (*arcanosv1.Hello, error) {
	type recv struct {
		msg *arcanosv1.ConnectRequest
		err error
	}
	got := make(chan recv, 1)
	go func() {
		msg, err := stream.Recv()
		got <- recv{msg, err}
	}()

	timer := time.NewTimer(s.opts.Deadline)
	defer timer.Stop()
	select {
	case r := <-got:
		if r.err != nil {
			return nil, r.err
		}
		if r.msg.GetHello() == nil {
			return nil, status.Error(codes.InvalidArgument, "the first message of a stream must be hello")
		}
		return r.msg.GetHello(), nil
	case <-timer.C:
		return nil, status.Error(codes.DeadlineExceeded, "no hello within the heartbeat deadline")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// hostOf returns the host the stream speaks for: the certificate's host id,
// which hello must repeat, so one host cannot report as another.
func (s *Service) hostOf(ctx context.Context, hello *arcanosv1.Hello) (string, error) {
	if s.opts.Insecure {
		if err := pki.ValidHostID(hello.GetHostId()); err != nil {
			return "", status.Errorf(codes.InvalidArgument, "hello: %v", err)
		}
		return hello.GetHostId(), nil
	}
	id, ok := auth.FromContext(ctx)
	if !ok || id.Kind != pki.KindHost {
		return "", status.Error(codes.Unauthenticated, "Connect needs an agent's client certificate")
	}
	if hello.GetHostId() != id.Name {
		return "", status.Errorf(codes.PermissionDenied,
			"hello claims host %q but the certificate is host %q's: one host cannot report as another",
			hello.GetHostId(), id.Name)
	}
	return id.Name, nil
}

// dropStatus turns why a stream was dropped into the status the agent sees.
func dropStatus(cause error) error {
	switch {
	case cause == nil, errors.Is(cause, context.Canceled):
		return status.Error(codes.Canceled, "stream ended")
	case errors.Is(cause, registry.ErrQueueFull):
		return status.Error(codes.ResourceExhausted, cause.Error())
	}
	if _, ok := status.FromError(cause); ok {
		return cause
	}
	return status.Error(codes.Aborted, cause.Error())
}
