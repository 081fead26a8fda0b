package command

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/arcanos-dev/arcanos/pkg/pki"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// fakeControl is a ControlService that answers from its fields and records
// what it was asked. Like the real controller, it requires an operator
// certificate on every call.
type fakeControl struct {
	arcanosv1.UnimplementedControlServiceServer

	mu        sync.Mutex
	calls     []string
	operators []string

	events    []*arcanosv1.PurgeEvent
	startErr  error // returned before any event
	streamErr error // returned after the events
	purgeReqs []*arcanosv1.StartPurgeRequest

	hosts     []*arcanosv1.Host
	runs      []*arcanosv1.Run
	run       *arcanosv1.GetRunResponse
	diff      *arcanosv1.DiffRunsResponse
	diffReqs  []*arcanosv1.DiffRunsRequest
	current   *arcanosv1.AllowlistVersion // nil: NotFound
	setErr    error
	setReqs   []*arcanosv1.SetAllowlistRequest
	history   []*arcanosv1.AllowlistVersion
	tokenReqs []*arcanosv1.CreateEnrollmentTokenRequest
	schedules []*arcanosv1.Schedule
}

func (f *fakeControl) enter(ctx context.Context, method string) error {
	id, ok := pki.PeerIdentity(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, method)
	if !ok || id.Kind != "operator" {
		return status.Error(codes.PermissionDenied, "this call needs an operator certificate")
	}
	f.operators = append(f.operators, id.Name)
	return nil
}

func (f *fakeControl) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeControl) StartPurge(req *arcanosv1.StartPurgeRequest, s grpc.ServerStreamingServer[arcanosv1.StartPurgeResponse]) error {
	if err := f.enter(s.Context(), "StartPurge"); err != nil {
		return err
	}
	f.mu.Lock()
	f.purgeReqs = append(f.purgeReqs, proto.Clone(req).(*arcanosv1.StartPurgeRequest))
	f.mu.Unlock()
	if f.startErr != nil {
		return f.startErr
	}
	for _, ev := range f.events {
		if err := s.Send(&arcanosv1.StartPurgeResponse{Event: ev}); err != nil {
			return err
		}
	}
	return f.streamErr
}

func (f *fakeControl) ListHosts(ctx context.Context, _ *arcanosv1.ListHostsRequest) (*arcanosv1.ListHostsResponse, error) {
	if err := f.enter(ctx, "ListHosts"); err != nil {
		return nil, err
	}
	return &arcanosv1.ListHostsResponse{Hosts: f.hosts}, nil
}

func (f *fakeControl) ListRuns(ctx context.Context, _ *arcanosv1.ListRunsRequest) (*arcanosv1.ListRunsResponse, error) {
	if err := f.enter(ctx, "ListRuns"); err != nil {
		return nil, err
	}
	return &arcanosv1.ListRunsResponse{Runs: f.runs}, nil
}

func (f *fakeControl) GetRun(ctx context.Context, req *arcanosv1.GetRunRequest) (*arcanosv1.GetRunResponse, error) {
	if err := f.enter(ctx, "GetRun"); err != nil {
		return nil, err
	}
	if f.run == nil || f.run.GetRun().GetRunId() != req.GetRunId() {
		return nil, status.Errorf(codes.NotFound, "no run %q", req.GetRunId())
	}
	return f.run, nil
}

func (f *fakeControl) DiffRuns(ctx context.Context, req *arcanosv1.DiffRunsRequest) (*arcanosv1.DiffRunsResponse, error) {
	if err := f.enter(ctx, "DiffRuns"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.diffReqs = append(f.diffReqs, proto.Clone(req).(*arcanosv1.DiffRunsRequest))
	f.mu.Unlock()
	return f.diff, nil
}

func (f *fakeControl) GetAllowlist(ctx context.Context, _ *arcanosv1.GetAllowlistRequest) (*arcanosv1.GetAllowlistResponse, error) {
	if err := f.enter(ctx, "GetAllowlist"); err != nil {
		return nil, err
	}
	if f.current == nil {
		return nil, status.Error(codes.NotFound, "no central allowlist yet")
	}
	return &arcanosv1.GetAllowlistResponse{Current: f.current}, nil
}

func (f *fakeControl) SetAllowlist(ctx context.Context, req *arcanosv1.SetAllowlistRequest) (*arcanosv1.SetAllowlistResponse, error) {
	if err := f.enter(ctx, "SetAllowlist"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.setReqs = append(f.setReqs, proto.Clone(req).(*arcanosv1.SetAllowlistRequest))
	f.mu.Unlock()
	if f.setErr != nil {
		return nil, f.setErr
	}
	return &arcanosv1.SetAllowlistResponse{Current: &arcanosv1.AllowlistVersion{
		Version: req.GetExpectedVersion() + 1, Document: req.GetDocument(), ChangedBy: "alice", Comment: req.GetComment(),
	}}, nil
}

func (f *fakeControl) AllowlistHistory(ctx context.Context, _ *arcanosv1.AllowlistHistoryRequest) (*arcanosv1.AllowlistHistoryResponse, error) {
	if err := f.enter(ctx, "AllowlistHistory"); err != nil {
		return nil, err
	}
	return &arcanosv1.AllowlistHistoryResponse{Versions: f.history}, nil
}

func (f *fakeControl) CreateEnrollmentToken(ctx context.Context, req *arcanosv1.CreateEnrollmentTokenRequest) (*arcanosv1.CreateEnrollmentTokenResponse, error) {
	if err := f.enter(ctx, "CreateEnrollmentToken"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.tokenReqs = append(f.tokenReqs, proto.Clone(req).(*arcanosv1.CreateEnrollmentTokenRequest))
	f.mu.Unlock()
	return &arcanosv1.CreateEnrollmentTokenResponse{
		Token: "arc1.secret", CaFingerprint: "sha256:" + string(bytes.Repeat([]byte("ab"), 32)),
	}, nil
}

func (f *fakeControl) ListSchedules(ctx context.Context, _ *arcanosv1.ListSchedulesRequest) (*arcanosv1.ListSchedulesResponse, error) {
	if err := f.enter(ctx, "ListSchedules"); err != nil {
		return nil, err
	}
	return &arcanosv1.ListSchedulesResponse{Schedules: f.schedules}, nil
}

// testController is a fake controller served over real mTLS on a unix socket,
// with a CLI config file for its operator "alice".
type testController struct {
	fake   *fakeControl
	dir    string // holds pki/ and the config file
	sock   string
	config string
	ca     *pki.CA
}

// startController serves fake and writes a config file whose certificate
// paths are relative to it, as a copied controller data directory has them.
func startController(t *testing.T, fake *fakeControl) *testController {
	t.Helper()
	dir := t.TempDir()
	ca, err := pki.LoadOrCreateCA(filepath.Join(dir, "pki"))
	if err != nil {
		t.Fatal(err)
	}
	serverCert, err := ca.IssueServer(filepath.Join(dir, "pki"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ca.IssueOperator(filepath.Join(dir, "pki"), "alice"); err != nil {
		t.Fatal(err)
	}

	// A short directory: unix socket paths are limited to 108 bytes.
	sockDir, err := os.MkdirTemp("", "ctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "c.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(pki.ServerTLS(serverCert, ca))))
	arcanosv1.RegisterControlServiceServer(srv, fake)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	tc := &testController{fake: fake, dir: dir, sock: sock, ca: ca}
	tc.config = tc.writeConfig(t, "arcanosctl.yaml", "unix://"+sock, "pki/operator-alice.crt", "pki/operator-alice.key", "pki/ca.crt")
	return tc
}

// writeConfig writes a CLI config file into the controller's directory.
func (tc *testController) writeConfig(t *testing.T, name, addr, cert, key, ca string) string {
	t.Helper()
	body := "controller: " + addr + "\ncert: " + cert + "\nkey: " + key + "\nca: " + ca + "\n"
	p := filepath.Join(tc.dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// result is what one arcanosctl invocation produced.
type result struct {
	code           int
	stdout, stderr string
}

// ctl runs arcanosctl in-process with stdout that is not a terminal.
func ctl(t *testing.T, args ...string) result {
	t.Helper()
	return ctlTerm(t, false, args...)
}

// ctlTerm runs arcanosctl in-process, telling it whether stdout is a
// terminal (40 rows, 200 columns).
func ctlTerm(t *testing.T, terminal bool, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb, terminal: func(io.Writer) (bool, int, int) {
		return terminal, 40, 200
	}}
	code := a.run(args)
	return result{code, out.String(), errb.String()}
}

// with prepends --config to args.
func (tc *testController) args(args ...string) []string {
	return append([]string{"--config", tc.config}, args...)
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
