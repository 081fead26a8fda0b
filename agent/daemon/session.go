package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/arcanos-dev/arcanos/pkg/purge"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// silentIntervals is how many heartbeat intervals the controller may stay
// silent while it owes the agent an answer (its welcome, or the ack of a
// report sent) before the agent drops the stream and redials.
const silentIntervals = 3

// errSilent ends a session whose controller stopped answering.
var errSilent = errors.New("the controller stayed silent for 3 heartbeat intervals while an answer was due")

// session is one stream to the controller, from hello to its end.
type session struct {
	d *Daemon
	// base is the daemon's context: runs outlive the stream that started them.
	base     context.Context
	stream   arcanosv1.AgentService_ConnectClient
	inbox    <-chan received
	interval time.Duration
	welcomed bool
	// byRef says the controller takes run reports without the phases it
	// already holds (Welcome.phases_by_reference).
	byRef bool
	// sent holds the reports sent on this stream and not yet acknowledged.
	sent map[ReportKey]bool
	// owedSince is when the controller began to owe an answer (zero: it owes
	// none); any message from it restarts the clock.
	owedSince time.Time
}

type received struct {
	msg *arcanosv1.ConnectResponse
	err error
}

// session runs one stream until it fails or ctx ends. welcomed says whether
// the controller accepted the hello, which resets the backoff.
func (d *Daemon) session(base context.Context) (welcomed bool, err error) {
	ctx, cancel := context.WithCancel(base)
	defer cancel()
	defer d.observer.Connected(false)

	conn, err := dial(d.addr, d.tls)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	stream, err := arcanosv1.NewAgentServiceClient(conn).Connect(ctx)
	if err != nil {
		return false, fmt.Errorf("open stream to %s: %w", d.addr, err)
	}

	inbox := make(chan received)
	s := &session{d: d, base: base, stream: stream, inbox: inbox,
		interval: d.settings.Fleet.Heartbeat, sent: map[ReportKey]bool{}}
	go func() {
		for {
			m, err := stream.Recv()
			select {
			case inbox <- received{m, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()

	if err := s.send(d.hello()); err != nil {
		return false, fmt.Errorf("hello: %w", err)
	}
	s.owedSince = time.Now()
	err = s.loop(ctx)
	return s.welcomed, err
}

// loop handles the stream's traffic: messages from the controller,
// heartbeats, reports as the spool receives them, and the silence check.
func (s *session) loop(ctx context.Context) error {
	beat := time.NewTicker(s.interval)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()

		case r := <-s.inbox:
			if r.err != nil {
				if errors.Is(r.err, io.EOF) {
					return errors.New("the controller closed the stream")
				}
				return fmt.Errorf("receive: %w", r.err)
			}
			before := s.interval
			if err := s.handle(r.msg); err != nil {
				return err
			}
			if s.interval != before {
				beat.Reset(s.interval)
			}

		case <-s.d.spool.Changed():
			if err := s.flush(); err != nil {
				return err
			}

		case <-beat.C:
			if !s.owedSince.IsZero() && time.Since(s.owedSince) > silentIntervals*s.interval {
				return errSilent
			}
			if s.welcomed {
				if err := s.send(s.d.heartbeat()); err != nil {
					return err
				}
			}
		}
	}
}

// handle acts on one message from the controller.
func (s *session) handle(m *arcanosv1.ConnectResponse) error {
	log := s.d.log
	switch msg := m.GetMsg().(type) {
	case *arcanosv1.ConnectResponse_Welcome:
		s.welcomed = true
		s.byRef = msg.Welcome.GetPhasesByReference()
		s.d.observer.Connected(true)
		if iv := msg.Welcome.GetHeartbeatInterval().AsDuration(); iv > 0 {
			s.interval = iv
		}
		log.Info("connected to controller", "controller", s.d.addr, "host_id", s.d.hostID,
			"heartbeat", s.interval, "unacked_reports", s.d.spool.Len())
		s.answered()
		return s.flush()

	case *arcanosv1.ConnectResponse_Run:
		cmd := msg.Run
		if reason := s.d.runner.start(s.base, cmd); reason != "" {
			log.Info("run refused", "run", cmd.GetRunId(), "dry_run", cmd.GetDryRun(), "reason", reason)
			return s.send(&arcanosv1.ConnectRequest{Msg: &arcanosv1.ConnectRequest_Refused{
				Refused: &arcanosv1.RunRefused{RunId: cmd.GetRunId(), Reason: reason}}})
		}

	case *arcanosv1.ConnectResponse_Cancel:
		if s.d.runner.cancelRun(msg.Cancel) {
			log.Info("run cancelled by the controller", "run", msg.Cancel.GetRunId(), "reason", msg.Cancel.GetReason())
		} else {
			log.Debug("cancel for a run not in progress", "run", msg.Cancel.GetRunId())
		}

	case *arcanosv1.ConnectResponse_Ack:
		n := s.d.spool.Ack(msg.Ack)
		for k := range s.sent {
			if k.RunID == msg.Ack.GetRunId() && (msg.Ack.GetFinal() || (!k.Final && k.Seq == msg.Ack.GetSeq())) {
				delete(s.sent, k)
			}
		}
		log.Debug("report acknowledged", "run", msg.Ack.GetRunId(), "seq", msg.Ack.GetSeq(),
			"final", msg.Ack.GetFinal(), "removed", n)
	}
	s.answered()
	return nil
}

// answered notes that the controller spoke: it owes nothing more unless
// reports sent on this stream still await their ack, whose clock restarts.
func (s *session) answered() {
	switch {
	case !s.welcomed:
		s.owedSince = time.Now()
	case len(s.sent) == 0:
		s.owedSince = time.Time{}
	default:
		s.owedSince = time.Now()
	}
}

// flush sends, oldest first, every spooled report not yet sent on this
// stream: after the welcome that is all of them, later the new ones.
func (s *session) flush() error {
	if !s.welcomed {
		return nil
	}
	pending := s.d.spool.Pending()
	for _, k := range pending {
		if s.sent[k] {
			continue
		}
		req, err := s.d.spool.Read(k)
		if err != nil {
			s.d.log.Warn("spooled report unreadable; skipped", "report", k.String(), "err", err)
			continue
		}
		if k.Final && s.byRef {
			req = s.byReference(req, pending)
		}
		if fit := fitReport(req, maxReportBytes); fit != req {
			s.d.log.Warn("report too large for the stream; sent without findings", "report", k.String())
			req = fit
		}
		if err := s.send(req); err != nil {
			return err
		}
		if len(s.sent) == 0 && s.owedSince.IsZero() {
			s.owedSince = time.Now()
		}
		s.sent[k] = true
		s.d.log.Debug("report sent", "report", k.String())
	}
	return nil
}

// byReference returns the run report req without its phases when the
// controller holds every one of them: each of the run's phase reports was
// seen acknowledged, or is spooled and was sent on this stream before req
// (the controller reads a stream in order). Otherwise, a phase report lost
// from the spool or acknowledged before a restart of the agent included, it
// returns req whole.
func (s *session) byReference(req *arcanosv1.ConnectRequest, pending []ReportKey) *arcanosv1.ConnectRequest {
	rep := req.GetRun()
	n := rep.GetPhasesReported()
	if n <= 0 || len(rep.GetResult().GetPhases()) != int(n) {
		return req
	}
	spooled := map[int32]bool{}
	for _, k := range pending {
		if k.RunID == rep.GetRunId() && !k.Final {
			spooled[k.Seq] = true
		}
	}
	for seq := int32(1); seq <= n; seq++ {
		k := ReportKey{RunID: rep.GetRunId(), Seq: seq}
		if !(spooled[seq] && s.sent[k]) && !s.d.spool.Acked(k.RunID, seq) {
			return req // a phase report the controller may not have
		}
	}
	out := proto.Clone(req).(*arcanosv1.ConnectRequest)
	out.GetRun().GetResult().Phases = nil
	return out
}

// send sends one message. Send reports a broken stream as io.EOF; the
// stream's real status comes from the receiving side, waited for briefly.
func (s *session) send(req *arcanosv1.ConnectRequest) error {
	err := s.stream.Send(req)
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) {
		select {
		case r := <-s.inbox:
			if r.err != nil && !errors.Is(r.err, io.EOF) {
				err = r.err
			}
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("send: %w", err)
}

func (d *Daemon) hello() *arcanosv1.ConnectRequest {
	return &arcanosv1.ConnectRequest{Msg: &arcanosv1.ConnectRequest_Hello{Hello: &arcanosv1.Hello{
		HostId:            d.hostID,
		Hostname:          d.hostname,
		Labels:            d.labels,
		AgentVersion:      purge.Version,
		Os:                OSName(),
		Sources:           Sources(d.settings),
		RealPurgesAllowed: d.settings.Fleet.AllowReal,
		RunningRunId:      d.runner.running(),
	}}}
}

func (d *Daemon) heartbeat() *arcanosv1.ConnectRequest {
	return &arcanosv1.ConnectRequest{Msg: &arcanosv1.ConnectRequest_Heartbeat{Heartbeat: &arcanosv1.Heartbeat{
		SentAt:       timestamppb.Now(),
		RunningRunId: d.runner.running(),
	}}}
}
