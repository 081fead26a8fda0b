package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/arcanos-dev/arcanos/controller/agentsvc"
	"github.com/arcanos-dev/arcanos/controller/auth"
	"github.com/arcanos-dev/arcanos/controller/bootstrap"
	"github.com/arcanos-dev/arcanos/controller/config"
	"github.com/arcanos-dev/arcanos/controller/control"
	"github.com/arcanos-dev/arcanos/controller/dispatch"
	"github.com/arcanos-dev/arcanos/controller/metrics"
	"github.com/arcanos-dev/arcanos/controller/registry"
	"github.com/arcanos-dev/arcanos/controller/schedule"
	"github.com/arcanos-dev/arcanos/pkg/pki"
	"github.com/arcanos-dev/arcanos/pkg/store"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// StoreFile is the store's file name in the data dir.
const StoreFile = "arcanos.db"

// stopGrace is how long Close lets calls in progress finish.
const stopGrace = 3 * time.Second

// Controller is a running controller, ready to Serve.
type Controller struct {
	cfg config.Controller
	log *slog.Logger

	// Fingerprint is the CA's ("" under --insecure-dev).
	Fingerprint string
	// CLIConfig is the first operator's arcanosctl config ("" under
	// --insecure-dev); CreatedCLIConfig is true when this start wrote it.
	CLIConfig        string
	CreatedCLIConfig bool

	store    *store.Bolt
	registry *registry.Registry
	engine   *dispatch.Engine
	grpc     *grpc.Server
	health   *health.Server
	metrics  *metrics.Metrics

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Open prepares a controller on cfg.DataDir: PKI, store, registry, run
// engine (closing runs a previous controller left unfinished), scheduler,
// retention and the gRPC services. It does not listen yet.
func Open(ctx context.Context, cfg config.Controller, version string, log *slog.Logger) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Controller{cfg: cfg, log: log}

	var boot *bootstrap.Result
	policy := auth.Policy{Insecure: cfg.InsecureDev}
	if cfg.InsecureDev {
		log.Warn("INSECURE DEVELOPMENT MODE: plaintext gRPC, no certificates, no authentication; " +
			"anyone who reaches the listen address controls the fleet. Never use it outside development.")
	} else {
		var err error
		if boot, err = bootstrap.Setup(cfg.DataDir, cfg.Listen, cfg.ServerNames); err != nil {
			return nil, err
		}
		c.Fingerprint = boot.CA.Fingerprint()
		c.CLIConfig, c.CreatedCLIConfig = boot.CLIConfig, boot.CreatedCLIConfig
	}

	st, err := store.OpenBolt(filepath.Join(cfg.DataDir, StoreFile), store.BoltOptions{Logger: log})
	if err != nil {
		return nil, err
	}
	c.store = st

	if err := c.wire(ctx, boot, policy, version); err != nil {
		_ = st.Close()
		return nil, err
	}
	if err := c.serveMetrics(); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// wire builds the services on the open store.
func (c *Controller) wire(ctx context.Context, boot *bootstrap.Result, policy auth.Policy, version string) error {
	cfg, log := c.cfg, c.log
	reg, err := registry.New(ctx, c.store, log)
	if err != nil {
		return err
	}
	c.registry = reg

	c.metrics = c.newMetrics(version)
	c.engine = dispatch.New(dispatch.Options{
		Store: c.metrics.Store(c.store), Hosts: c.metrics.Hosts(reg), Log: log,
		DefaultTimeout: cfg.Runs.Timeout, Grace: cfg.Runs.Grace,
	})
	if err := c.engine.Recover(ctx); err != nil {
		c.engine.Close()
		return err
	}

	sched, err := schedule.New(cfg.Schedules, c.engine, log)
	if err != nil {
		c.engine.Close()
		return err
	}

	var ca *pki.CA
	if boot != nil {
		ca = boot.CA
		c.grpc = newGRPC(pki.ServerTLS(boot.Server, ca), policy)
	} else {
		c.grpc = newGRPC(nil, policy)
	}

	arcanosv1.RegisterAgentServiceServer(c.grpc, agentsvc.New(agentsvc.Options{
		Tokens: c.store, CA: ca, Registry: reg, Engine: c.engine,
		Heartbeat: cfg.Heartbeat.Interval, Deadline: cfg.Heartbeat.Deadline(),
		Insecure: cfg.InsecureDev, Version: version, Log: log,
	}))
	arcanosv1.RegisterControlServiceServer(c.grpc, control.New(control.Options{
		Store: c.store, Registry: reg, Engine: c.engine,
		Fingerprint: c.Fingerprint, Schedules: sched, Log: log,
	}))
	c.health = health.NewServer()
	healthpb.RegisterHealthServer(c.grpc, c.health)
	for _, svc := range []string{"", arcanosv1.AgentService_ServiceDesc.ServiceName,
		arcanosv1.ControlService_ServiceDesc.ServiceName} {
		c.health.SetServingStatus(svc, healthpb.HealthCheckResponse_SERVING)
	}

	bg, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.wg.Add(2)
	go func() { defer c.wg.Done(); sched.Run(bg) }()
	go func() { defer c.wg.Done(); c.retain(bg) }()
	return nil
}

// Serve serves on lis until Close.
func (c *Controller) Serve(lis net.Listener) error {
	c.log.Info("controller serving", "address", lis.Addr().String(), "data_dir", c.cfg.DataDir,
		"insecure_dev", c.cfg.InsecureDev, "ca_fingerprint", c.Fingerprint)
	if err := c.grpc.Serve(lis); err != nil {
		return fmt.Errorf("serve on %s: %w", lis.Addr(), err)
	}
	return nil
}

// Close stops serving and closes the store. Runs in progress are stored as
// they stand; the next start marks them interrupted.
func (c *Controller) Close() error {
	var err error
	c.once.Do(func() {
		c.health.Shutdown()
		if err := c.metrics.Close(); err != nil {
			c.log.Warn("stop metrics listener", "err", err)
		}
		c.cancel()
		c.engine.Close()

		// GracefulStop refuses new calls; the agents' streams never end on
		// their own, so they are dropped (their agents reconnect later).
		done := make(chan struct{})
		go func() { c.grpc.GracefulStop(); close(done) }()
		c.registry.DropAll(errors.New("controller shutting down"))
		select {
		case <-done:
		case <-time.After(stopGrace):
			c.grpc.Stop()
			<-done
		}
		c.wg.Wait()
		c.registry.Close(context.Background())
		err = c.store.Close()
		c.log.Info("controller stopped")
	})
	return err
}
