package daemon

import (
	"crypto/tls"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
)

// Keepalive of the agent's connection. The controller's enforcement policy
// (MinTime 20s, PermitWithoutStream) accepts a ping every 30s; a ping left
// unanswered for 20s closes the connection, which ends the stream and makes
// the agent redial.
var clientKeepalive = keepalive.ClientParameters{
	Time:                30 * time.Second,
	Timeout:             20 * time.Second,
	PermitWithoutStream: true,
}

// maxRecvMsg bounds one message from the controller (a command carries the
// whole allowlist, itself capped at 4 MiB).
const maxRecvMsg = 16 << 20

// dial returns a client connection to the controller at addr (host:port, or
// unix:///path.sock) over TLS. Nothing is sent until the first call.
func dial(addr string, tlsConf *tls.Config) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(credentials.NewTLS(tlsConf)),
		grpc.WithKeepaliveParams(clientKeepalive),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxRecvMsg)),
	)
	if err != nil {
		return nil, fmt.Errorf("controller address %q: %w", addr, err)
	}
	return conn, nil
}
