package schedule

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/controller/config"
	"github.com/arcanos-dev/arcanos/controller/dispatch"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// recorder is a Starter that records the requests it gets.
type recorder struct {
	mu   sync.Mutex
	reqs []dispatch.Request
	got  chan struct{}
}

func (r *recorder) Start(_ context.Context, req dispatch.Request, _ bool) (*arcanosv1.Run, *dispatch.Watch, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	select {
	case r.got <- struct{}{}:
	default:
	}
	return &arcanosv1.Run{RunId: "r"}, nil, nil
}

func TestSchedulerStartsScheduledAudits(t *testing.T) {
	rec := &recorder{got: make(chan struct{}, 1)}
	s, err := New([]config.Schedule{{
		Name: "nightly", Cron: "@every 1s", Hosts: "web-*", Spread: 10 * time.Minute,
	}}, rec, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	list := s.List()
	if len(list) != 1 || list[0].GetName() != "nightly" || !list[0].GetDryRun() ||
		list[0].GetSpreadSeconds() != 600 || list[0].GetNextRun() == nil {
		t.Fatalf("List() = %v", list)
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	select {
	case <-rec.got:
	case <-time.After(time.Minute):
		t.Fatal("schedule never fired")
	}
	cancel()
	<-done

	rec.mu.Lock()
	req := rec.reqs[0]
	rec.mu.Unlock()
	if !req.Scheduled || !req.DryRun || req.StartedBy != "schedule:nightly" ||
		req.Spread != 10*time.Minute || req.Selector.GetHosts() != "web-*" {
		t.Fatalf("request %+v", req)
	}
}

func TestSchedulerRefusesBadSpecs(t *testing.T) {
	for _, c := range []config.Schedule{
		{Name: "six fields", Cron: "0 0 3 * * *", Hosts: "*"},
		{Name: "bad glob", Cron: "@daily", Hosts: "web-["},
	} {
		if _, err := New([]config.Schedule{c}, &recorder{}, slog.Default()); err == nil ||
			!strings.Contains(err.Error(), c.Name) {
			t.Errorf("%s: %v, want an error naming the schedule", c.Name, err)
		}
	}
}
