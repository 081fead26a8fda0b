package e2e

import (
	"context"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/arcanos-dev/arcanos/pkg/pki"
	"github.com/arcanos-dev/arcanos/pkg/testbed"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// TestHostCannotReportAsAnother opens an agent stream with web-1's real
// certificate (copied from its enrolled state directory) whose hello claims
// to be web-2: the controller refuses it with PermissionDenied before
// registering anything, web-2's record is unchanged and still served by its
// own agent, and web-1's own stream is not replaced.
func TestHostCannotReportAsAnother(t *testing.T) {
	t.Parallel()
	testbed.RequireUnshare(t)
	c := startController(t, controllerOpts{})
	web1 := c.startAgent("web-1", agentOpts{labels: "role=web"})
	c.startAgent("web-2", agentOpts{labels: "role=web"})
	c.waitOnline(time.Minute, map[string]bool{"web-1": true, "web-2": true})
	before := c.hosts()["web-2"]

	creds, err := pki.ClientTLS(filepath.Join(web1.stateDir, "agent.crt"),
		filepath.Join(web1.stateDir, "agent.key"), filepath.Join(web1.stateDir, "ca.crt"))
	if err != nil {
		t.Fatalf("web-1's credentials: %v", err)
	}
	conn, err := grpc.NewClient(c.addr, grpc.WithTransportCredentials(credentials.NewTLS(creds)))
	if err != nil {
		t.Fatalf("dial %s: %v", c.addr, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stream, err := arcanosv1.NewAgentServiceClient(conn).Connect(ctx)
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	err = stream.Send(&arcanosv1.ConnectRequest{Msg: &arcanosv1.ConnectRequest_Hello{Hello: &arcanosv1.Hello{
		HostId: "web-2", Hostname: "web-2", Labels: map[string]string{"role": "db"},
		AgentVersion: "impostor", RealPurgesAllowed: true,
	}}})
	if err != nil {
		t.Fatalf("send hello: %v", err)
	}
	msg, err := stream.Recv()
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("hello as web-2 with web-1's certificate: got %v, %v; want PermissionDenied", msg, err)
	}
	if !strings.Contains(err.Error(), "one host cannot report as another") {
		t.Errorf("the refusal does not say why: %v", err)
	}

	after := c.hosts()["web-2"]
	if !after.GetOnline() || after.GetHostname() != "web-2" || after.GetAgentVersion() != before.GetAgentVersion() ||
		after.GetRealPurgesAllowed() || !maps.Equal(after.GetLabels(), map[string]string{"role": "web"}) {
		t.Errorf("web-2's record changed after the impostor's hello:\nbefore %v\nafter  %v", before, after)
	}
	if !c.hosts()["web-1"].GetOnline() {
		t.Errorf("web-1 went offline after a stream with its certificate was refused")
	}
	if strings.Contains(web1.proc.log(), "replaced by a newer stream") {
		t.Errorf("the refused stream replaced web-1's own:\n%s", tail(web1.proc.logPath, 10))
	}
	if !strings.Contains(c.proc.log(), "agent stream refused") {
		t.Errorf("the controller's log does not record the refused stream")
	}

	// The fleet still works for both real hosts.
	res, evs := c.purge("--hosts", "web-*", "--dry-run", "--phases", "health")
	states, _ := finalStates(evs)
	if res.code != 0 || len(states) != 2 || states["web-1"] != arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED ||
		states["web-2"] != arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED {
		t.Errorf("a dry run of web-* after the refused stream: states %v: %s", states, res)
	}
}
