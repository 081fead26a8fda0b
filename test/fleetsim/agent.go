package fleetsim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/types/known/timestamppb"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// agentKeepalive is the real agent's: a ping every 30s, which the
// controller's enforcement policy accepts.
var agentKeepalive = keepalive.ClientParameters{
	Time: 30 * time.Second, Timeout: 20 * time.Second, PermitWithoutStream: true,
}

// agent is one simulated agent: its own certificate, connection and stream.
type agent struct {
	f    *Fleet
	host string
	cert tls.Certificate

	conn   *grpc.ClientConn
	stream arcanosv1.AgentService_ConnectClient
	// sendMu serialises Send: heartbeats and reports come from different
	// goroutines, and a gRPC stream allows one sender at a time.
	sendMu sync.Mutex
	beat   *time.Timer
	// byRef: the controller's welcome accepts run reports without phases.
	byRef bool

	mu      sync.Mutex
	running string
	stopRun context.CancelFunc
}

// connect dials the controller with the agent's own certificate, opens its
// stream under ctx (the fleet's lifetime), says hello and returns once the
// controller welcomed it, or wait ends.
func (a *agent) connect(ctx, wait context.Context, welcomeBy time.Duration) error {
	tlsConf := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{a.cert},
		RootCAs:      a.f.opts.RootCAs,
	}
	conn, err := grpc.NewClient(a.f.opts.Addr,
		grpc.WithTransportCredentials(credentials.NewTLS(tlsConf)),
		grpc.WithKeepaliveParams(agentKeepalive),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(newWireCodec())),
	)
	if err != nil {
		return fmt.Errorf("agent %s: controller address %q: %w", a.host, a.f.opts.Addr, err)
	}
	a.conn = conn
	stream, err := arcanosv1.NewAgentServiceClient(conn).Connect(ctx)
	if err != nil {
		return fmt.Errorf("agent %s: open stream: %w", a.host, err)
	}
	a.stream = stream

	err = a.send(&arcanosv1.ConnectRequest{Msg: &arcanosv1.ConnectRequest_Hello{Hello: &arcanosv1.Hello{
		HostId:       a.host,
		Hostname:     a.host,
		Labels:       a.f.labelsOf(a.host),
		AgentVersion: "fleetsim",
		Os:           "linux",
		Sources:      []string{"processes", "unit_files", "initd", "cron"},
	}}})
	if err != nil {
		return fmt.Errorf("agent %s: hello: %w", a.host, err)
	}

	welcome := make(chan error, 1)
	go func() {
		m, err := stream.Recv()
		switch {
		case err != nil:
			welcome <- fmt.Errorf("agent %s: waiting for welcome: %w", a.host, err)
			return
		case m.GetWelcome() == nil:
			welcome <- fmt.Errorf("agent %s: first message from the controller is not a welcome", a.host)
			return
		}
		a.byRef = m.GetWelcome().GetPhasesByReference() && !a.f.opts.WholeReports
		a.startHeartbeat(m.GetWelcome().GetHeartbeatInterval().AsDuration())
		welcome <- nil
		a.receive(ctx)
	}()

	timer := time.NewTimer(welcomeBy)
	defer timer.Stop()
	select {
	case err := <-welcome:
		return err
	case <-timer.C:
		return fmt.Errorf("agent %s: no welcome within %s", a.host, welcomeBy)
	case <-wait.Done():
		return wait.Err()
	}
}

// receive handles the controller's messages until the stream ends.
//
// LIMITATION: a simulated agent neither redials nor re-sends its
// unacknowledged reports after its stream drops, as a real agent does; a
// drop is counted (Fleet.Dropped) and fails the benchmark instead.
func (a *agent) receive(ctx context.Context) {
	for {
		m, err := a.stream.Recv()
		if err != nil {
			if ctx.Err() == nil {
				a.f.dropped(a.host, err)
			}
			return
		}
		switch msg := m.GetMsg().(type) {
		case *arcanosv1.ConnectResponse_Run:
			a.command(ctx, msg.Run)
		case *arcanosv1.ConnectResponse_Cancel:
			a.cancel(msg.Cancel.GetRunId())
		case *arcanosv1.ConnectResponse_Ack:
			a.f.acked(msg.Ack)
		}
	}
}

// command starts a run the way a real agent with allow_real false does: a
// real run is refused with the reason, and so is a second run at once.
func (a *agent) command(ctx context.Context, cmd *arcanosv1.RunCommand) {
	a.f.commanded(cmd.GetRunId())
	refuse := func(reason string) {
		a.f.refused(cmd.GetRunId())
		_ = a.send(&arcanosv1.ConnectRequest{Msg: &arcanosv1.ConnectRequest_Refused{
			Refused: &arcanosv1.RunRefused{RunId: cmd.GetRunId(), Reason: reason}}})
	}
	if !cmd.GetDryRun() {
		refuse("real purges are not allowed on this host (a fleetsim agent only answers dry runs)")
		return
	}

	a.mu.Lock()
	if a.running != "" {
		busy := a.running
		a.mu.Unlock()
		refuse("run " + busy + " is still in progress; one purge at a time")
		return
	}
	runCtx, stop := context.WithCancel(ctx)
	a.running, a.stopRun = cmd.GetRunId(), stop
	a.mu.Unlock()

	go func() {
		defer func() {
			a.mu.Lock()
			a.running, a.stopRun = "", nil
			a.mu.Unlock()
			stop()
		}()
		if err := a.run(runCtx, cmd); err != nil && ctx.Err() == nil {
			a.f.log.Warn("simulated run ended early", "host", a.host, "run", cmd.GetRunId(), "err", err)
		}
	}()
}

// run reports each phase as it completes (seq from 1), then the result, as
// the real agent's runner does: without its phases when the controller
// accepts that, else whole.
func (a *agent) run(ctx context.Context, cmd *arcanosv1.RunCommand) error {
	started := time.Now()
	ans := a.f.opts.Answer
	idx := ans.selected(cmd)
	for seq, i := range idx {
		if d := ans.delay(ans.tmpl.GetPhases()[i]); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
		if err := a.sendEncoded(ans.enc.phaseRequest(cmd.GetRunId(), int32(seq+1), i)); err != nil {
			return fmt.Errorf("send phase %s: %w", ans.enc.name[i], err)
		}
	}
	whole, reported := idx, int32(len(idx))
	if a.byRef {
		whole = nil // every phase went out as a phase report just before
	}
	msg, err := ans.enc.runRequest(cmd.GetRunId(), ans.head(cmd, a.host, started), whole, reported)
	if err != nil {
		return err
	}
	if err := a.sendEncoded(msg); err != nil {
		return fmt.Errorf("send run report: %w", err)
	}
	a.f.reported(cmd.GetRunId())
	return nil
}

func (a *agent) cancel(runID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.running == runID && a.stopRun != nil {
		a.stopRun()
	}
}

// startHeartbeat sends a heartbeat every interval until the stream ends.
func (a *agent) startHeartbeat(interval time.Duration) {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.beat = time.AfterFunc(interval, func() {
		a.mu.Lock()
		running, beat := a.running, a.beat
		a.mu.Unlock()
		err := a.send(&arcanosv1.ConnectRequest{Msg: &arcanosv1.ConnectRequest_Heartbeat{
			Heartbeat: &arcanosv1.Heartbeat{SentAt: timestamppb.Now(), RunningRunId: running}}})
		if err == nil {
			beat.Reset(interval)
		}
	})
}

func (a *agent) send(req *arcanosv1.ConnectRequest) error {
	a.sendMu.Lock()
	defer a.sendMu.Unlock()
	if a.stream == nil {
		return errors.New("no stream")
	}
	return a.stream.Send(req)
}

// sendEncoded sends a ConnectRequest already in wire form.
func (a *agent) sendEncoded(msg encoded) error {
	a.sendMu.Lock()
	defer a.sendMu.Unlock()
	if a.stream == nil {
		return errors.New("no stream")
	}
	return a.stream.SendMsg(msg)
}

// close ends the agent's stream and connection.
func (a *agent) close() {
	a.mu.Lock()
	if a.beat != nil {
		a.beat.Stop()
	}
	a.mu.Unlock()
	if a.conn != nil {
		_ = a.conn.Close()
	}
}
