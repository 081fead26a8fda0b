package server

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/arcanos-dev/arcanos/pkg/pki"
	"github.com/arcanos-dev/arcanos/pkg/store"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// seedToken stores a token in the data dir before the controller starts,
// so a token can be expired without waiting.
func seedToken(t *testing.T, dataDir string, tok store.Token) {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(dataDir, StoreFile), store.BoltOptions{Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestEnrollChecksTheToken(t *testing.T) {
	cfg := testConfig(t)
	expired, expiredHash, _ := pki.NewToken()
	seedToken(t, cfg.DataDir, store.Token{Hash: expiredHash, ExpiresAt: time.Now().Add(-time.Minute), CreatedBy: "test"})
	f := start(t, cfg)

	reused := f.token(t, "")
	if _, err := f.enroll(t, "web-9", reused, nil); err != nil {
		t.Fatalf("first use of a token: %v", err)
	}
	bound := f.token(t, "db-1")

	tests := []struct {
		name     string
		host     string
		token    string
		code     codes.Code
		contains string
	}{
		{"valid token enrolls", "web-1", f.token(t, ""), codes.OK, ""},
		{"token bound to the host enrolls it", "db-1", bound, codes.OK, ""},
		{"expired token is refused", "web-2", expired, codes.PermissionDenied, "expired"},
		{"reused token is refused", "web-3", reused, codes.PermissionDenied, "already used by web-9"},
		{"token bound to another host is refused", "web-4", f.token(t, "db-2"), codes.PermissionDenied, `bound to host name "db-2"`},
		{"unknown token is refused", "web-5", "arc1.not-a-token", codes.PermissionDenied, "unknown token"},
		{"no token is refused", "web-6", "", codes.Unauthenticated, "no token"},
		{"invalid host name is refused", "Web_7", f.token(t, ""), codes.InvalidArgument, "not a valid host name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf, err := f.enroll(t, tt.host, tt.token, map[string]string{"role": "web"})
			if status.Code(err) != tt.code || !strings.Contains(status.Convert(err).Message(), tt.contains) {
				t.Fatalf("enroll %s: %v, want %s saying %q", tt.host, err, tt.code, tt.contains)
			}
			if tt.code != codes.OK {
				if h := f.c.registry.Host(tt.host); h != nil {
					t.Fatalf("refused host %s was registered: %v", tt.host, h)
				}
				return
			}
			leaf := conf.Certificates[0].Leaf
			if leaf == nil {
				t.Fatal("no certificate")
			}
			if id, ok := pki.IdentityOf(leaf); !ok || id != (pki.Identity{Kind: pki.KindHost, Name: tt.host}) {
				t.Fatalf("certificate identity %v, want host %s", id, tt.host)
			}
			if h := f.c.registry.Host(tt.host); h == nil || h.GetLabels()["role"] != "web" {
				t.Fatalf("enrolled host %s registered as %v, want labels role=web", tt.host, h)
			}
		})
	}
}

func TestConnectRefusesAnotherHostsIdentity(t *testing.T) {
	f := start(t, testConfig(t))
	a := f.newAgent(t, "web-1", nil)
	f.newAgent(t, "web-2", nil)
	a.disconnect()

	if err := a.open("web-2"); err != nil {
		t.Fatal(err)
	}
	err := a.endErr()
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "cannot report as another") {
		t.Fatalf("hello as web-2 with web-1's certificate: %v, want PermissionDenied", err)
	}
	if h := f.c.registry.Host("web-2"); !h.GetOnline() {
		t.Fatal("web-2's own stream was disturbed by the impostor")
	}

	// An operator certificate is not an agent's.
	op := arcanosv1.NewAgentServiceClient(dial(t, f.socket, f.opTLS))
	stream, err := op.Connect(ctx(t))
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("Connect with an operator certificate: %v, want PermissionDenied", err)
	}
}

func TestOperatorCallsNeedAnOperatorCertificate(t *testing.T) {
	f := start(t, testConfig(t))
	conf, err := f.enroll(t, "web-1", f.token(t, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	asAgent := arcanosv1.NewControlServiceClient(dial(t, f.socket, conf))
	asNobody := arcanosv1.NewControlServiceClient(dial(t, f.socket, pki.EnrollTLS(f.c.Fingerprint)))

	calls := map[string]func(arcanosv1.ControlServiceClient) error{
		"ListHosts": func(c arcanosv1.ControlServiceClient) error {
			_, err := c.ListHosts(ctx(t), &arcanosv1.ListHostsRequest{})
			return err
		},
		"CreateEnrollmentToken": func(c arcanosv1.ControlServiceClient) error {
			_, err := c.CreateEnrollmentToken(ctx(t), &arcanosv1.CreateEnrollmentTokenRequest{})
			return err
		},
		"SetAllowlist": func(c arcanosv1.ControlServiceClient) error {
			_, err := c.SetAllowlist(ctx(t), &arcanosv1.SetAllowlistRequest{Document: []byte(`{}`)})
			return err
		},
		"StartPurge": func(c arcanosv1.ControlServiceClient) error {
			s, err := c.StartPurge(ctx(t), &arcanosv1.StartPurgeRequest{
				Selector: &arcanosv1.Selector{Hosts: "*"}, DryRun: true})
			if err == nil {
				_, err = s.Recv()
			}
			return err
		},
	}
	for name, call := range calls {
		if err := call(asAgent); status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s with an agent certificate: %v, want PermissionDenied", name, err)
		}
		if err := call(asNobody); status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s without a certificate: %v, want Unauthenticated", name, err)
		}
		if err := call(f.op); status.Code(err) == codes.PermissionDenied || status.Code(err) == codes.Unauthenticated {
			t.Errorf("%s with the operator certificate: %v", name, err)
		}
	}

	// Health answers anyone, as load balancers ask without certificates.
	resp, err := healthpb.NewHealthClient(dial(t, f.socket, pki.EnrollTLS(f.c.Fingerprint))).Check(
		ctx(t), &healthpb.HealthCheckRequest{Service: "arcanos.v1.AgentService"})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health check: %v %v", resp, err)
	}
}

func TestSilentAgentIsDroppedAfterTheHeartbeatDeadline(t *testing.T) {
	cfg := testConfig(t)
	cfg.Heartbeat.Interval, cfg.Heartbeat.Missed = time.Second, 1
	f := start(t, cfg)
	a := f.newAgent(t, "web-1", nil)

	// The fake agent sends no heartbeat.
	if err := a.endErr(); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("silent stream ended with %v, want DeadlineExceeded", err)
	}
	hosts, err := f.op.ListHosts(ctx(t), &arcanosv1.ListHostsRequest{})
	if err != nil || len(hosts.GetHosts()) != 1 || hosts.GetHosts()[0].GetOnline() {
		t.Fatalf("hosts after the drop: %v %v, want web-1 offline", hosts, err)
	}
}

func TestListHostsBySelector(t *testing.T) {
	f := start(t, testConfig(t))
	f.newAgent(t, "web-1", map[string]string{"role": "web"})
	f.newAgent(t, "db-1", map[string]string{"role": "db"})
	if _, err := f.enroll(t, "web-2", f.token(t, ""), map[string]string{"role": "web"}); err != nil {
		t.Fatal(err)
	}

	resp, err := f.op.ListHosts(ctx(t), &arcanosv1.ListHostsRequest{
		Selector: &arcanosv1.Selector{Labels: map[string]string{"role": "web"}}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, h := range resp.GetHosts() {
		got[h.GetHostId()] = h.GetOnline()
	}
	if len(got) != 2 || !got["web-1"] || got["web-2"] {
		t.Fatalf("hosts %v, want web-1 online and web-2 offline", got)
	}
}

// Whoever holds any token must not become an existing host: enrolling an
// enrolled name again needs a token an operator bound to that name.
func TestReEnrollNeedsATokenBoundToTheHost(t *testing.T) {
	f := start(t, testConfig(t))
	if _, err := f.enroll(t, "web-1", f.token(t, ""), nil); err != nil {
		t.Fatal(err)
	}
	_, err := f.enroll(t, "web-1", f.token(t, ""), map[string]string{"role": "evil"})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(status.Convert(err).Message(), "already enrolled") {
		t.Fatalf("re-enroll with an unbound token: %v, want PermissionDenied saying already enrolled", err)
	}
	if role := f.c.registry.Host("web-1").GetLabels()["role"]; role == "evil" {
		t.Fatal("a refused enrollment changed the host's labels")
	}
	if _, err := f.enroll(t, "web-1", f.token(t, "web-1"), nil); err != nil {
		t.Fatalf("re-enroll with a token bound to web-1: %v", err)
	}
}
