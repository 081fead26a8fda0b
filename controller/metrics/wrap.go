package metrics

import (
	"context"
	"time"

	"github.com/arcanos-dev/arcanos/controller/dispatch"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// Store returns st measured: runs created and ended, phase reports and
// results stored. Only what the store accepted is measured; every call
// returns what st returned.
func (m *Metrics) Store(st dispatch.Store) dispatch.Store {
	return &measuredStore{Store: st, m: m}
}

// Hosts returns h measured: the time each run command is handed to a
// host's stream, from which dispatch-to-result latency is taken.
func (m *Metrics) Hosts(h dispatch.Hosts) dispatch.Hosts {
	return &measuredHosts{inner: h, m: m}
}

type measuredStore struct {
	dispatch.Store
	m *Metrics
}

func (s *measuredStore) CreateRun(ctx context.Context, r *arcanosv1.Run) error {
	if err := s.Store.CreateRun(ctx, r); err != nil {
		return err
	}
	s.m.flights.created(r.GetRunId())
	return nil
}

func (s *measuredStore) UpdateRun(ctx context.Context, r *arcanosv1.Run) error {
	if err := s.Store.UpdateRun(ctx, r); err != nil {
		return err
	}
	if r.GetFinishedAt() != nil {
		s.m.runFinished(r)
	}
	return nil
}

func (s *measuredStore) PutPhase(ctx context.Context, runID, host string, seq int32,
	p *arcanosv1.PhaseResult) error {
	if err := s.Store.PutPhase(ctx, runID, host, seq, p); err != nil {
		return err
	}
	s.m.phaseStored(runID, host, seq, p)
	return nil
}

func (s *measuredStore) PutResult(ctx context.Context, runID, host string, r *arcanosv1.RunResult) error {
	if err := s.Store.PutResult(ctx, runID, host, r); err != nil {
		return err
	}
	s.m.resultStored(runID, host, r, time.Now())
	return nil
}

type measuredHosts struct {
	inner dispatch.Hosts
	m     *Metrics
}

func (h *measuredHosts) Hosts() []*arcanosv1.Host { return h.inner.Hosts() }

func (h *measuredHosts) Send(hostID string, msg *arcanosv1.ConnectResponse) error {
	run := msg.GetRun()
	if run == nil {
		return h.inner.Send(hostID, msg)
	}
	// Noted before the send: a quick agent's result could otherwise be
	// stored before its dispatch is known.
	h.m.flights.dispatched(run.GetRunId(), hostID, time.Now())
	err := h.inner.Send(hostID, msg)
	if err != nil {
		h.m.flights.undispatched(run.GetRunId(), hostID)
	}
	return err
}
