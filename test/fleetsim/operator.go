package fleetsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"gopkg.in/yaml.v3"

	"github.com/arcanos-dev/arcanos/pkg/pki"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// maxOperatorRecv bounds one message to the operator: GetRun carries every
// host's full result at once (~50 KB a host), far above gRPC's 4 MiB default.
const maxOperatorRecv = 1 << 30

// Operator is a ControlService client with an operator's certificate.
type Operator struct {
	// Control is the service client.
	Control arcanosv1.ControlServiceClient
	conn    *grpc.ClientConn
}

// cliConfig is the part of arcanosctl.yaml the operator needs.
type cliConfig struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	CA   string `yaml:"ca"`
}

// DialOperator connects to the controller at addr with the certificate,
// key and CA named in an arcanosctl config file (the one the controller
// writes for its first operator).
func DialOperator(addr, cliConfigFile string) (*Operator, error) {
	raw, err := os.ReadFile(cliConfigFile)
	if err != nil {
		return nil, fmt.Errorf("read operator config %s: %w", cliConfigFile, err)
	}
	var cfg cliConfig
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("parse operator config %s: %w", cliConfigFile, err)
	}
	tlsConf, err := pki.ClientTLS(cfg.Cert, cfg.Key, cfg.CA)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(tlsConf)),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxOperatorRecv)))
	if err != nil {
		return nil, fmt.Errorf("controller address %q: %w", addr, err)
	}
	return &Operator{Control: arcanosv1.NewControlServiceClient(conn), conn: conn}, nil
}

// Close closes the connection.
func (o *Operator) Close() error { return o.conn.Close() }

// Purge is what one StartPurge stream showed.
type Purge struct {
	RunID string
	// Events counts the events received by state.
	Events map[arcanosv1.HostRunState]int
	// Final is each host's last state.
	Final map[string]arcanosv1.HostRunState
	// FirstEvent is when the first event arrived; Done when the stream
	// ended, which the controller does once every host is final and the
	// run, its results and its events are stored.
	FirstEvent, Done time.Time
	// PayloadBytes counts the bytes of phases and results the events
	// carried; MissingResults the FINISHED events that carried no result.
	PayloadBytes   int64
	MissingResults int
}

// StartPurge starts a run on the hosts sel matches and follows its event
// stream to the end.
func (o *Operator) StartPurge(ctx context.Context, sel string, dryRun bool) (*Purge, error) {
	// The events are read without decoding the phases and results they
	// carry: the operator here is the measuring harness, sharing the
	// controller's machine, and GetRun checks the results afterwards.
	stream, err := o.Control.StartPurge(ctx, &arcanosv1.StartPurgeRequest{
		Selector: &arcanosv1.Selector{Hosts: sel}, DryRun: dryRun,
	}, grpc.ForceCodecV2(newWireCodec()))
	if err != nil {
		return nil, fmt.Errorf("start purge of %q: %w", sel, err)
	}
	p := &Purge{Events: map[arcanosv1.HostRunState]int{}, Final: map[string]arcanosv1.HostRunState{}}
	for {
		var e eventHead
		err := stream.RecvMsg(&e)
		if errors.Is(err, io.EOF) {
			p.Done = time.Now()
			return p, nil
		}
		if err != nil {
			return p, fmt.Errorf("follow run %s: %w", p.RunID, err)
		}
		if p.FirstEvent.IsZero() {
			p.FirstEvent = time.Now()
		}
		p.RunID = e.RunID
		p.Events[e.State]++
		p.Final[e.Host] = e.State
		p.PayloadBytes += int64(e.PhaseBytes + e.ResultBytes)
		if e.State == arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED && e.ResultBytes == 0 {
			p.MissingResults++
		}
	}
}

// SetAllowlist makes doc the central allowlist, whatever version is current.
func (o *Operator) SetAllowlist(ctx context.Context, doc []byte) (int64, error) {
	var expected int64
	cur, err := o.Control.GetAllowlist(ctx, &arcanosv1.GetAllowlistRequest{})
	if err == nil {
		expected = cur.GetCurrent().GetVersion()
	}
	resp, err := o.Control.SetAllowlist(ctx, &arcanosv1.SetAllowlistRequest{
		Document: doc, ExpectedVersion: expected, Comment: "fleetsim",
	})
	if err != nil {
		return 0, fmt.Errorf("set the central allowlist: %w", err)
	}
	return resp.GetCurrent().GetVersion(), nil
}
