package agentsvc

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arcanos-dev/arcanos/controller/registry"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// readLoop reads the agent's messages until the stream ends. A report is
// acknowledged only after the store returned; when the store fails the
// stream is dropped, so the agent re-sends the report after reconnecting.
func (s *Service) readLoop(ctx context.Context, stream connectStream, sess *registry.Session,
	watchdog *time.Timer) {
	hostID := sess.HostID()
	for {
		msg, err := stream.Recv()
		if err != nil {
			sess.Drop(err)
			return
		}
		watchdog.Reset(s.opts.Deadline)
		sess.Seen(time.Now())

		switch m := msg.GetMsg().(type) {
		case *arcanosv1.ConnectRequest_Heartbeat:
		case *arcanosv1.ConnectRequest_Phase:
			if err := s.opts.Engine.StorePhase(ctx, hostID, m.Phase); err != nil {
				s.storeFailed(sess, err)
				return
			}
			_ = sess.Send(ack(m.Phase.GetRunId(), m.Phase.GetSeq(), false))
		case *arcanosv1.ConnectRequest_Run:
			if err := s.opts.Engine.StoreResult(ctx, hostID, m.Run); err != nil {
				s.storeFailed(sess, err)
				return
			}
			_ = sess.Send(ack(m.Run.GetRunId(), 0, true))
		case *arcanosv1.ConnectRequest_Refused:
			s.opts.Engine.Refused(hostID, m.Refused)
		case *arcanosv1.ConnectRequest_Hello:
			s.log.Debug("second hello on a stream ignored", "host", hostID)
		default:
			s.log.Debug("unknown message on an agent stream ignored", "host", hostID)
		}
	}
}

func (s *Service) storeFailed(sess *registry.Session, err error) {
	s.log.Error("store agent report; dropping the stream so the agent re-sends it",
		"host", sess.HostID(), "err", err)
	sess.Drop(status.Errorf(codes.Unavailable, "report not stored, send it again: %v", err))
}

// ack says a report is durably stored: seq for a phase, final for the run.
func ack(runID string, seq int32, final bool) *arcanosv1.ConnectResponse {
	return &arcanosv1.ConnectResponse{Msg: &arcanosv1.ConnectResponse_Ack{
		Ack: &arcanosv1.Ack{RunId: runID, Seq: seq, Final: final},
	}}
}
