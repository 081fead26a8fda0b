package command

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/arcanos-dev/arcanos/pkg/pki"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// controller is a connection to the controller's ControlService.
type controller struct {
	arcanosv1.ControlServiceClient
	conn    *grpc.ClientConn
	addr    string
	timeout time.Duration
}

// connect reads the settings and opens a connection to the controller. The
// connection is lazy: an unreachable controller shows up at the first call,
// as a status that rpcErr explains.
func connect(cmd *cobra.Command, stderr io.Writer) (*controller, error) {
	s, err := loadSettings(cmd)
	if err != nil {
		return nil, err
	}
	target, err := grpcTarget(s.Controller)
	if err != nil {
		return nil, err
	}

	var creds credentials.TransportCredentials
	if s.InsecureDev {
		fmt.Fprintln(stderr, "arcanosctl: warning: --insecure-dev: plaintext to the controller, "+
			"no certificate on either side; for development only")
		creds = insecure.NewCredentials()
	} else {
		tlsConf, err := pki.ClientTLS(s.Cert, s.Key, s.CA)
		if err != nil {
			return nil, usageErr("operator certificate (from %s): %w", s.describe(), err)
		}
		creds = credentials.NewTLS(tlsConf)
	}

	// GetRun returns a whole run in one message: about 64 KiB per host, so
	// gRPC's default 4 MiB receive limit would refuse runs of 65 hosts.
	// LIMITATION: a run of more than ~8,000 such hosts needs a paged GetRun.
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(512<<20)))
	if err != nil {
		return nil, usageErr("controller address %q: %w", s.Controller, err)
	}
	return &controller{
		ControlServiceClient: arcanosv1.NewControlServiceClient(conn),
		conn:                 conn,
		addr:                 s.Controller,
		timeout:              s.RequestTimeout,
	}, nil
}

// grpcTarget checks a controller address and returns the gRPC target for it.
func grpcTarget(addr string) (string, error) {
	if rest, ok := strings.CutPrefix(addr, "unix://"); ok {
		if !strings.HasPrefix(rest, "/") {
			return "", usageErr("controller address %q: a unix socket needs an absolute path, "+
				"like unix:///run/arcanos/controller.sock", addr)
		}
		return addr, nil
	}
	if strings.Contains(addr, "://") || !strings.Contains(addr, ":") {
		return "", usageErr("controller address %q: use host:port (like 127.0.0.1:7443) "+
			"or unix:///path.sock", addr)
	}
	return "passthrough:///" + addr, nil
}

// ctx returns a context bounded by the request timeout, for one unary call.
func (c *controller) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, c.timeout)
}

// close ends the connection.
func (c *controller) close() { _ = c.conn.Close() }

// fail explains an error of the call what.
func (c *controller) fail(what string, err error) error { return rpcErr(what, c.addr, err) }
