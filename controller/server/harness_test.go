package server

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gopkg.in/yaml.v3"

	"github.com/arcanos-dev/arcanos/controller/bootstrap"
	"github.com/arcanos-dev/arcanos/controller/config"
	"github.com/arcanos-dev/arcanos/pkg/pki"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// wait bounds every wait in these tests so a broken controller fails the
// test instead of hanging it; nothing is timed.
const wait = time.Minute

// fixture is one controller served over a unix socket with real mTLS and
// a real bbolt store in a temporary data dir.
type fixture struct {
	t      *testing.T
	cfg    config.Controller
	c      *Controller
	socket string
	served chan error
	op     arcanosv1.ControlServiceClient
	opTLS  *tls.Config
}

func testConfig(t *testing.T) config.Controller {
	t.Helper()
	sockDir, err := os.MkdirTemp("", "arc-ctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(sockDir) })

	cfg := config.Defaults()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Listen = "unix://" + filepath.Join(sockDir, "c.sock")
	cfg.Runs.Grace = 0
	return cfg
}

func quietLog() *slog.Logger {
	if os.Getenv("ARCANOS_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// start opens and serves a controller on cfg; Cleanup closes it.
func start(t *testing.T, cfg config.Controller) *fixture {
	t.Helper()
	c, err := Open(t.Context(), cfg, "test", quietLog())
	if err != nil {
		t.Fatalf("open controller: %v", err)
	}
	lis, err := Listen(cfg.Listen)
	if err != nil {
		_ = c.Close()
		t.Fatal(err)
	}
	f := &fixture{t: t, cfg: cfg, c: c, socket: cfg.Listen, served: make(chan error, 1)}
	go func() { f.served <- c.Serve(lis) }()
	t.Cleanup(f.stop)

	f.opTLS = operatorTLS(t, c.CLIConfig)
	f.op = arcanosv1.NewControlServiceClient(dial(t, f.socket, f.opTLS))
	return f
}

// stop closes the controller (idempotent).
func (f *fixture) stop() {
	if err := f.c.Close(); err != nil {
		f.t.Errorf("close controller: %v", err)
	}
}

// operatorTLS reads the first operator's CLI config the controller wrote.
func operatorTLS(t *testing.T, path string) *tls.Config {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cc bootstrap.CLIConfig
	if err := yaml.Unmarshal(data, &cc); err != nil {
		t.Fatal(err)
	}
	conf, err := pki.ClientTLS(cc.Cert, cc.Key, cc.CA)
	if err != nil {
		t.Fatal(err)
	}
	return conf
}

func dial(t *testing.T, socket string, conf *tls.Config) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(socket, grpc.WithTransportCredentials(credentials.NewTLS(conf)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), wait)
	t.Cleanup(cancel)
	return c
}

// token creates an enrollment token as the operator.
func (f *fixture) token(t *testing.T, hostname string) string {
	t.Helper()
	resp, err := f.op.CreateEnrollmentToken(ctx(t), &arcanosv1.CreateEnrollmentTokenRequest{Hostname: hostname})
	if err != nil {
		t.Fatalf("create token: %v", err)
	}
	if resp.GetCaFingerprint() != f.c.Fingerprint {
		t.Fatalf("token fingerprint %q, want the CA's %q", resp.GetCaFingerprint(), f.c.Fingerprint)
	}
	return resp.GetToken()
}

// enroll enrolls hostID as an agent does: key and CSR, pinned enrollment
// TLS, files written; it returns the agent's mTLS config.
func (f *fixture) enroll(t *testing.T, hostID, token string, labels map[string]string) (*tls.Config, error) {
	t.Helper()
	// The request's own name does not matter: the controller binds the
	// certificate to the requested host name (or refuses it).
	keyPEM, csr, err := pki.NewKeyAndCSR("csr-name")
	if err != nil {
		t.Fatal(err)
	}
	conn := dial(t, f.socket, pki.EnrollTLS(f.c.Fingerprint))
	resp, err := arcanosv1.NewAgentServiceClient(conn).Enroll(ctx(t), &arcanosv1.EnrollRequest{
		Token: token, Hostname: hostID, CsrDer: csr, Labels: labels,
	})
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	files := map[string][]byte{
		"agent.key": keyPEM,
		"agent.crt": pki.EncodeCertPEM(resp.GetCertificateDer()),
		"ca.crt":    pki.EncodeCertPEM(resp.GetCaCertificateDer()),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return pki.ClientTLS(filepath.Join(dir, "agent.crt"), filepath.Join(dir, "agent.key"), filepath.Join(dir, "ca.crt"))
}

// agent is a fake agent speaking the real protocol over a real stream.
type agent struct {
	t      *testing.T
	id     string
	labels map[string]string
	tls    *tls.Config
	socket string

	stream grpc.BidiStreamingClient[arcanosv1.ConnectRequest, arcanosv1.ConnectResponse]
	cancel context.CancelFunc
	in     chan *arcanosv1.ConnectResponse
	ended  chan error
	sendMu sync.Mutex
}

// newAgent enrolls hostID with a fresh token and connects it.
func (f *fixture) newAgent(t *testing.T, hostID string, labels map[string]string) *agent {
	t.Helper()
	conf, err := f.enroll(t, hostID, f.token(t, ""), labels)
	if err != nil {
		t.Fatalf("enroll %s: %v", hostID, err)
	}
	a := &agent{t: t, id: hostID, labels: labels, tls: conf, socket: f.socket}
	a.connect(f)
	return a
}

// connect opens the stream (to f's controller) and waits for Welcome.
func (a *agent) connect(f *fixture) {
	a.t.Helper()
	a.socket = f.socket
	if err := a.open(a.id); err != nil {
		a.t.Fatalf("agent %s: connect: %v", a.id, err)
	}
	msg := a.next()
	if msg.GetWelcome() == nil {
		a.t.Fatalf("agent %s: first message %v, want welcome", a.id, msg)
	}
	if got := msg.GetWelcome().GetHeartbeatInterval().AsDuration(); got != f.cfg.Heartbeat.Interval {
		a.t.Fatalf("welcome heartbeat %s, want %s", got, f.cfg.Heartbeat.Interval)
	}
}

// open opens a stream saying hello as claimedID.
func (a *agent) open(claimedID string) error {
	conn, err := grpc.NewClient(a.socket, grpc.WithTransportCredentials(credentials.NewTLS(a.tls)))
	if err != nil {
		return err
	}
	a.t.Cleanup(func() { _ = conn.Close() })
	sctx, cancel := context.WithCancel(context.Background())
	a.t.Cleanup(cancel)
	stream, err := arcanosv1.NewAgentServiceClient(conn).Connect(sctx)
	if err != nil {
		cancel()
		return err
	}
	a.stream, a.cancel = stream, cancel
	a.in = make(chan *arcanosv1.ConnectResponse, 256)
	a.ended = make(chan error, 1)
	if err := a.send(&arcanosv1.ConnectRequest{Msg: &arcanosv1.ConnectRequest_Hello{Hello: &arcanosv1.Hello{
		HostId: claimedID, Hostname: a.id, Labels: a.labels, AgentVersion: "fake", Os: "linux",
	}}}); err != nil {
		return err
	}
	go func(stream grpc.BidiStreamingClient[arcanosv1.ConnectRequest, arcanosv1.ConnectResponse],
		in chan *arcanosv1.ConnectResponse, ended chan error) {
		for {
			msg, err := stream.Recv()
			if err != nil {
				ended <- err
				close(in)
				return
			}
			in <- msg
		}
	}(stream, a.in, a.ended)
	return nil
}

func (a *agent) send(m *arcanosv1.ConnectRequest) error {
	a.sendMu.Lock()
	defer a.sendMu.Unlock()
	return a.stream.Send(m)
}

// next returns the next message from the controller.
func (a *agent) next() *arcanosv1.ConnectResponse {
	a.t.Helper()
	select {
	case msg, ok := <-a.in:
		if !ok {
			a.t.Fatalf("agent %s: stream ended: %v", a.id, <-a.ended)
		}
		return msg
	case <-time.After(wait):
		a.t.Fatalf("agent %s: nothing received", a.id)
	}
	return nil
}

// endErr waits for the stream to end and returns why.
func (a *agent) endErr() error {
	a.t.Helper()
	for {
		select {
		case _, ok := <-a.in:
			if !ok {
				return <-a.ended
			}
		case <-time.After(wait):
			a.t.Fatalf("agent %s: stream did not end", a.id)
		}
	}
}

// command waits for the next RunCommand.
func (a *agent) command() *arcanosv1.RunCommand {
	a.t.Helper()
	msg := a.next()
	if msg.GetRun() == nil {
		a.t.Fatalf("agent %s: got %v, want a run command", a.id, msg)
	}
	return msg.GetRun()
}

// ack waits for the next Ack.
func (a *agent) ack() *arcanosv1.Ack {
	a.t.Helper()
	msg := a.next()
	if msg.GetAck() == nil {
		a.t.Fatalf("agent %s: got %v, want an ack", a.id, msg)
	}
	return msg.GetAck()
}

// phase sends one phase report and returns its ack.
func (a *agent) phase(runID string, seq int32, p *arcanosv1.PhaseResult) *arcanosv1.Ack {
	a.t.Helper()
	if err := a.send(&arcanosv1.ConnectRequest{Msg: &arcanosv1.ConnectRequest_Phase{
		Phase: &arcanosv1.PhaseReport{RunId: runID, Seq: seq, Phase: p}}}); err != nil {
		a.t.Fatalf("agent %s: send phase: %v", a.id, err)
	}
	return a.ack()
}

// result sends the run's result and returns its ack.
func (a *agent) result(runID string, res *arcanosv1.RunResult) *arcanosv1.Ack {
	a.t.Helper()
	if err := a.send(&arcanosv1.ConnectRequest{Msg: &arcanosv1.ConnectRequest_Run{
		Run: &arcanosv1.RunReport{RunId: runID, Result: res}}}); err != nil {
		a.t.Fatalf("agent %s: send result: %v", a.id, err)
	}
	return a.ack()
}

// disconnect ends the agent's stream from its side.
func (a *agent) disconnect() {
	a.cancel()
	for range a.in {
	}
}

// detect is a phase result with one finding per process name.
func detect(procs ...string) *arcanosv1.PhaseResult {
	p := &arcanosv1.PhaseResult{Name: "detect", Status: arcanosv1.PhaseStatus_PHASE_STATUS_OK}
	for _, name := range procs {
		p.Findings = append(p.Findings, &arcanosv1.Finding{
			Kind: "process", Subject: name, Verdict: arcanosv1.Verdict_VERDICT_UNAUTHORIZED,
		})
	}
	return p
}

// resultOf is a host's run result made of phases.
func resultOf(runID, host string, status arcanosv1.PhaseStatus, phases ...*arcanosv1.PhaseResult) *arcanosv1.RunResult {
	return &arcanosv1.RunResult{
		RunId: runID, Host: host, DryRun: true, Status: status, Phases: phases,
		StartedAt: timestamppb.Now(), FinishedAt: timestamppb.Now(),
		Summary: &arcanosv1.RunSummary{Unauthorized: int32(len(phases))},
	}
}

// purge starts a run and returns a reader of its events.
func (f *fixture) purge(t *testing.T, req *arcanosv1.StartPurgeRequest) *events {
	t.Helper()
	stream, err := f.op.StartPurge(ctx(t), req)
	if err != nil {
		t.Fatalf("start purge: %v", err)
	}
	return &events{t: t, stream: stream}
}

// events reads a StartPurge stream.
type events struct {
	t      *testing.T
	stream grpc.ServerStreamingClient[arcanosv1.StartPurgeResponse]
	seen   []*arcanosv1.PurgeEvent
}

// next returns the next event, or nil and the stream's end status.
func (e *events) next() (*arcanosv1.PurgeEvent, error) {
	resp, err := e.stream.Recv()
	if err != nil {
		return nil, err
	}
	e.seen = append(e.seen, resp.GetEvent())
	return resp.GetEvent(), nil
}

// until reads events until one of host reaches state, and returns it.
func (e *events) until(host string, state arcanosv1.HostRunState) *arcanosv1.PurgeEvent {
	e.t.Helper()
	for {
		ev, err := e.next()
		if err != nil {
			e.t.Fatalf("stream ended (%v) before %s reached %s; saw %s", err, host, state, e.summary())
		}
		if ev.GetHost() == host && ev.GetState() == state {
			return ev
		}
	}
}

// rest reads the stream to its end and returns the end status.
func (e *events) rest() error {
	for {
		if _, err := e.next(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// final returns the last state each host reached in the events seen.
func (e *events) final() map[string]arcanosv1.HostRunState {
	out := map[string]arcanosv1.HostRunState{}
	for _, ev := range e.seen {
		out[ev.GetHost()] = ev.GetState()
	}
	return out
}

func (e *events) summary() string {
	var b strings.Builder
	for _, ev := range e.seen {
		b.WriteString(ev.GetHost() + ":" + ev.GetState().String() + " ")
	}
	return b.String()
}
