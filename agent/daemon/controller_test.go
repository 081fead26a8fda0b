package daemon

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/arcanos-dev/arcanos/pkg/pki"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// waitFor bounds every wait of these tests for something the agent does; it
// only turns a hang into a failure and is not a measure of speed.
const waitFor = 30 * time.Second

// fakeController serves the real AgentService over real mTLS on a unix
// socket, with certificates from pkg/pki. It enrolls agents against a set
// of single-use tokens, checks that hello names the certificate's host, and
// hands each stream to the test.
type fakeController struct {
	t    *testing.T
	ca   *pki.CA
	addr string

	// interval goes into every Welcome.
	interval time.Duration
	// welcome, when false, leaves hello unanswered.
	welcome atomic.Bool
	// ack, when true, acknowledges every report as it arrives.
	ack atomic.Bool
	// byRef goes into every Welcome as phases_by_reference.
	byRef atomic.Bool

	mu     sync.Mutex
	tokens map[string]bool
	conns  atomic.Int32

	streams chan *fakeStream

	arcanosv1.UnimplementedAgentServiceServer
}

// fakeStream is one agent stream as the controller sees it.
type fakeStream struct {
	hello *arcanosv1.Hello
	peer  pki.Identity
	// in receives everything the agent sends after hello.
	in chan *arcanosv1.ConnectRequest
	// out is sent to the agent.
	out chan *arcanosv1.ConnectResponse
	// drop ends the stream from the controller's side.
	drop     chan struct{}
	dropOnce sync.Once
}

func (s *fakeStream) close() { s.dropOnce.Do(func() { close(s.drop) }) }

func newFakeController(t *testing.T) *fakeController {
	t.Helper()
	ca, err := pki.LoadOrCreateCA(filepath.Join(t.TempDir(), "pki"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueServer(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// unix socket paths are short; t.TempDir() paths can be too long.
	dir, err := os.MkdirTemp("", "arcanos-ctl-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "ctl.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}

	fc := &fakeController{t: t, ca: ca, addr: "unix://" + sock, interval: time.Second,
		tokens: map[string]bool{}, streams: make(chan *fakeStream, 16)}
	fc.welcome.Store(true)
	srv := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(pki.ServerTLS(cert, ca))),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime: 20 * time.Second, PermitWithoutStream: true}),
	)
	arcanosv1.RegisterAgentServiceServer(srv, fc)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return fc
}

// token makes a single-use enrollment token.
func (fc *fakeController) token() string {
	secret, _, err := pki.NewToken()
	if err != nil {
		fc.t.Fatal(err)
	}
	fc.mu.Lock()
	fc.tokens[secret] = true
	fc.mu.Unlock()
	return secret
}

func (fc *fakeController) Enroll(_ context.Context, req *arcanosv1.EnrollRequest) (*arcanosv1.EnrollResponse, error) {
	fc.mu.Lock()
	ok := fc.tokens[req.GetToken()]
	delete(fc.tokens, req.GetToken())
	fc.mu.Unlock()
	if !ok {
		return nil, status.Error(codes.PermissionDenied, "enrollment token invalid: unknown or already used")
	}
	der, err := fc.ca.SignAgent(req.GetCsrDer(), req.GetHostname())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &arcanosv1.EnrollResponse{HostId: req.GetHostname(), CertificateDer: der,
		CaCertificateDer: fc.ca.CertDER()}, nil
}

func (fc *fakeController) Connect(stream arcanosv1.AgentService_ConnectServer) error {
	fc.conns.Add(1)
	id, ok := pki.PeerIdentity(stream.Context())
	if !ok || id.Kind != pki.KindHost {
		return status.Error(codes.Unauthenticated, "a host certificate is required")
	}
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	hello := first.GetHello()
	if hello == nil || hello.GetHostId() != id.Name {
		return status.Errorf(codes.PermissionDenied, "hello names host %q, the certificate %q",
			hello.GetHostId(), id.Name)
	}
	fs := &fakeStream{hello: hello, peer: id, in: make(chan *arcanosv1.ConnectRequest, 256),
		out: make(chan *arcanosv1.ConnectResponse, 256), drop: make(chan struct{})}
	fc.streams <- fs
	if fc.welcome.Load() {
		fs.out <- &arcanosv1.ConnectResponse{Msg: &arcanosv1.ConnectResponse_Welcome{Welcome: &arcanosv1.Welcome{
			ControllerVersion: "fake", HeartbeatInterval: durationpb.New(fc.interval),
			PhasesByReference: fc.byRef.Load()}}}
	}

	go func() {
		for {
			req, err := stream.Recv()
			if err != nil {
				fs.close()
				return
			}
			if fc.ack.Load() {
				if a := ackFor(req); a != nil {
					fs.out <- &arcanosv1.ConnectResponse{Msg: &arcanosv1.ConnectResponse_Ack{Ack: a}}
				}
			}
			select {
			case fs.in <- req:
			default:
				if req.GetHeartbeat() == nil { // a test that ignores heartbeats may let them pile up
					fs.in <- req
				}
			}
		}
	}()
	for {
		select {
		case m := <-fs.out:
			if err := stream.Send(m); err != nil {
				return err
			}
		case <-fs.drop:
			return status.Error(codes.Unavailable, "stream dropped by the test")
		case <-stream.Context().Done():
			return stream.Context().Err()
		}
	}
}

func ackFor(req *arcanosv1.ConnectRequest) *arcanosv1.Ack {
	switch m := req.GetMsg().(type) {
	case *arcanosv1.ConnectRequest_Phase:
		return &arcanosv1.Ack{RunId: m.Phase.GetRunId(), Seq: m.Phase.GetSeq()}
	case *arcanosv1.ConnectRequest_Run:
		return &arcanosv1.Ack{RunId: m.Run.GetRunId(), Final: true}
	}
	return nil
}

// nextStream waits for the agent's next stream.
func (fc *fakeController) nextStream(t *testing.T) *fakeStream {
	t.Helper()
	select {
	case s := <-fc.streams:
		return s
	case <-time.After(waitFor):
		t.Fatal("the agent did not connect")
		return nil
	}
}

// send sends a message to the agent.
func (s *fakeStream) send(m *arcanosv1.ConnectResponse) { s.out <- m }

// next waits for the agent's next message other than a heartbeat.
func (s *fakeStream) next(t *testing.T) *arcanosv1.ConnectRequest {
	t.Helper()
	timeout := time.After(waitFor)
	for {
		select {
		case m := <-s.in:
			if m.GetHeartbeat() == nil {
				return m
			}
		case <-timeout:
			t.Fatal("the agent sent nothing")
			return nil
		}
	}
}
