package server

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/arcanos-dev/arcanos/controller/metrics"
)

// newMetrics returns the controller's metrics, reading the host counts
// from the registry, the store's size from its file and health from the
// gRPC health service.
func (c *Controller) newMetrics(version string) *metrics.Metrics {
	return metrics.New(metrics.Options{
		Hosts:     c.registry.Counts,
		StoreFile: filepath.Join(c.cfg.DataDir, StoreFile),
		Healthy:   c.healthy,
		Version:   version,
		Log:       c.log,
	})
}

// serveMetrics opens the metrics listener when MetricsListen is set.
func (c *Controller) serveMetrics() error {
	if c.cfg.MetricsListen == "" {
		return nil
	}
	lis, err := Listen(c.cfg.MetricsListen)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	c.metrics.Serve(lis)
	c.log.Info("metrics serving", "address", lis.Addr().String(),
		"paths", metrics.MetricsPath+" "+metrics.HealthPath)
	return nil
}

// MetricsAddr is the metrics listener's address ("" when it is off).
func (c *Controller) MetricsAddr() string {
	if a := c.metrics.Addr(); a != nil {
		return a.String()
	}
	return ""
}

// healthy reports the overall status of the gRPC health service: SERVING
// from Open until Close begins.
func (c *Controller) healthy(ctx context.Context) error {
	resp, err := c.health.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return fmt.Errorf("check health: %w", err)
	}
	if st := resp.GetStatus(); st != healthpb.HealthCheckResponse_SERVING {
		return errors.New(st.String())
	}
	return nil
}
