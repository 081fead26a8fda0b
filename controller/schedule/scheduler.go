// Package schedule starts the controller's recurring audits: each schedule
// from the config fires on its cron spec, and each host it selects starts at
// its own offset within the schedule's spread, so thousands of agents never
// start in the same second. Hosts offline at their start are recorded MISSED.
package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/arcanos-dev/arcanos/controller/config"
	"github.com/arcanos-dev/arcanos/controller/dispatch"
	"github.com/arcanos-dev/arcanos/pkg/fleet"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// Starter starts runs; *dispatch.Engine is one.
type Starter interface {
	Start(ctx context.Context, req dispatch.Request, watch bool) (*arcanosv1.Run, *dispatch.Watch, error)
}

type entry struct {
	s fleet.Schedule

	mu   sync.Mutex
	next time.Time
}

// Scheduler fires the configured schedules.
type Scheduler struct {
	runs    Starter
	log     *slog.Logger
	entries []*entry
}

// New checks every schedule's cron spec and selector.
func New(cfgs []config.Schedule, runs Starter, log *slog.Logger) (*Scheduler, error) {
	s := &Scheduler{runs: runs, log: log}
	now := time.Now()
	for _, c := range cfgs {
		fs := fleet.Schedule{
			Name:     c.Name,
			Cron:     c.Cron,
			Selector: &arcanosv1.Selector{Hosts: c.Hosts, Labels: maps.Clone(c.Labels)},
			DryRun:   c.IsDryRun(),
			Spread:   c.Spread,
		}
		next, err := fs.Next(now)
		if err != nil {
			return nil, err
		}
		if _, err := fleet.ParseSelector(fs.Selector); err != nil {
			return nil, fmt.Errorf("schedule %q: %w", c.Name, err)
		}
		s.entries = append(s.entries, &entry{s: fs, next: next})
	}
	return s, nil
}

// Run fires schedules until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, e := range s.entries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.loop(ctx, e)
		}()
	}
	wg.Wait()
}

func (s *Scheduler) loop(ctx context.Context, e *entry) {
	for {
		e.mu.Lock()
		next := e.next
		e.mu.Unlock()

		timer := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}

		s.fire(ctx, e.s)

		after, err := e.s.Next(time.Now())
		if err != nil {
			s.log.Error("schedule stopped", "schedule", e.s.Name, "err", err)
			return
		}
		e.mu.Lock()
		e.next = after
		e.mu.Unlock()
	}
}

// fire starts one run of schedule sc.
func (s *Scheduler) fire(ctx context.Context, sc fleet.Schedule) {
	run, _, err := s.runs.Start(ctx, dispatch.Request{
		Selector:  sc.Selector,
		DryRun:    sc.DryRun,
		StartedBy: "schedule:" + sc.Name,
		Spread:    sc.Spread,
		Scheduled: true,
	}, false)
	if err != nil {
		s.log.Warn("scheduled run not started", "schedule", sc.Name, "err", err)
		return
	}
	s.log.Info("scheduled run started", "schedule", sc.Name, "run", run.GetRunId(), "hosts", len(run.GetHosts()))
}

// List returns every schedule with its next start.
func (s *Scheduler) List() []*arcanosv1.Schedule {
	out := make([]*arcanosv1.Schedule, 0, len(s.entries))
	for _, e := range s.entries {
		e.mu.Lock()
		next := e.next
		e.mu.Unlock()
		out = append(out, &arcanosv1.Schedule{
			Name:          e.s.Name,
			Cron:          e.s.Cron,
			Selector:      e.s.Selector,
			DryRun:        e.s.DryRun,
			SpreadSeconds: int32(e.s.Spread / time.Second),
			NextRun:       timestamppb.New(next),
		})
	}
	return out
}
