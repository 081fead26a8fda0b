package control

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// ListRuns returns the newest runs first (50 unless asked, at most 1000).
// Active runs show their live host states.
func (s *Service) ListRuns(ctx context.Context, req *arcanosv1.ListRunsRequest) (*arcanosv1.ListRunsResponse, error) {
	if _, err := operator(ctx); err != nil {
		return nil, err
	}
	runs, err := s.opts.Store.ListRuns(ctx, limit(req.GetLimit(), 50, 1000))
	if err != nil {
		return nil, storeStatus(err, "list runs")
	}
	for i, r := range runs {
		if live := s.opts.Engine.Snapshot(r.GetRunId()); live != nil {
			runs[i] = live
		}
	}
	return &arcanosv1.ListRunsResponse{Runs: runs}, nil
}

// GetRun returns a run and every result stored for it.
func (s *Service) GetRun(ctx context.Context, req *arcanosv1.GetRunRequest) (*arcanosv1.GetRunResponse, error) {
	if _, err := operator(ctx); err != nil {
		return nil, err
	}
	if req.GetRunId() == "" {
		return nil, status.Error(codes.InvalidArgument, "run_id is empty; list runs with arcanosctl runs list")
	}
	run := s.opts.Engine.Snapshot(req.GetRunId())
	if run == nil {
		var err error
		if run, err = s.opts.Store.GetRun(ctx, req.GetRunId()); err != nil {
			return nil, runStatus(err, req.GetRunId())
		}
	}
	results, err := s.opts.Store.Results(ctx, req.GetRunId())
	if err != nil {
		return nil, storeStatus(err, "results of run "+req.GetRunId())
	}
	events, err := s.opts.Store.Events(ctx, req.GetRunId())
	if err != nil {
		return nil, storeStatus(err, "events of run "+req.GetRunId())
	}
	return &arcanosv1.GetRunResponse{Run: run, Results: results, HostDetails: hostDetails(run, events)}, nil
}

// hostDetails returns, per host of run, the detail of its last event in the
// state the run records for it: why it was refused, failed or skipped.
func hostDetails(run *arcanosv1.Run, events []*arcanosv1.PurgeEvent) map[string]string {
	out := map[string]string{}
	for _, ev := range events {
		state, ok := run.GetHosts()[ev.GetHost()]
		if ok && ev.GetState() == state && ev.GetDetail() != "" {
			out[ev.GetHost()] = ev.GetDetail()
		}
	}
	return out
}
