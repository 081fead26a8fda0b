package server

import (
	"context"
	"time"
)

// retain applies the retention bounds at start and then every
// Retention.Every until ctx ends.
func (c *Controller) retain(ctx context.Context) {
	r := c.cfg.Retention
	if r.MaxAge <= 0 && r.MaxRuns <= 0 {
		return
	}
	ticker := time.NewTicker(r.Every)
	defer ticker.Stop()
	for {
		n, err := c.store.Prune(ctx, r.MaxAge, r.MaxRuns, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			c.log.Warn("apply retention", "err", err)
		case n > 0:
			c.log.Info("retention deleted old runs", "runs", n, "max_age", r.MaxAge, "max_runs", r.MaxRuns)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
