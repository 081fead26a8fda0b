package control

import (
	"cmp"
	"context"
	"maps"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// diffScan is how many runs DiffRuns looks through for the base run.
//
// LIMITATION: the default base is searched among the newest diffScan runs
// only; name the base run explicitly to compare with an older one.
const diffScan = 500

// DiffRuns lists the findings new or gone between a run and its base: the
// given base, or else the newest earlier run over the same set of hosts.
// Findings are keyed by host, phase, kind and subject; only hosts with a
// result in both runs are compared.
func (s *Service) DiffRuns(ctx context.Context, req *arcanosv1.DiffRunsRequest) (*arcanosv1.DiffRunsResponse, error) {
	if _, err := operator(ctx); err != nil {
		return nil, err
	}
	if req.GetRunId() == "" {
		return nil, status.Error(codes.InvalidArgument, "run_id is empty")
	}
	run, err := s.opts.Store.GetRun(ctx, req.GetRunId())
	if err != nil {
		return nil, storeStatus(err, "get run "+req.GetRunId())
	}

	baseID := req.GetBaseRunId()
	if baseID == "" {
		if baseID, err = s.previousRun(ctx, run); err != nil {
			return nil, err
		}
	} else if _, err := s.opts.Store.GetRun(ctx, baseID); err != nil {
		return nil, storeStatus(err, "get base run "+baseID)
	}

	now, err := s.resultsByHost(ctx, run.GetRunId())
	if err != nil {
		return nil, err
	}
	before, err := s.resultsByHost(ctx, baseID)
	if err != nil {
		return nil, err
	}

	var changes []*arcanosv1.FindingChange
	for _, host := range slices.Sorted(maps.Keys(now)) {
		prev, ok := before[host]
		if !ok {
			continue
		}
		// Only phases both runs ran are compared: a phase missing on one
		// side is not drift.
		both, had := phasesIn(now[host]), phasesIn(prev)
		for p := range both {
			if !had[p] {
				delete(both, p)
			}
		}
		cur := findingsOf(now[host], both)
		old := findingsOf(prev, both)
		for k, f := range cur {
			if _, ok := old[k]; !ok {
				changes = append(changes, &arcanosv1.FindingChange{Host: host, Phase: k.phase, Change: "new", Finding: f})
			}
		}
		for k, f := range old {
			if _, ok := cur[k]; !ok {
				changes = append(changes, &arcanosv1.FindingChange{Host: host, Phase: k.phase, Change: "gone", Finding: f})
			}
		}
	}
	slices.SortFunc(changes, func(a, b *arcanosv1.FindingChange) int {
		return cmp.Or(cmp.Compare(a.GetHost(), b.GetHost()), cmp.Compare(a.GetPhase(), b.GetPhase()),
			cmp.Compare(a.GetChange(), b.GetChange()), cmp.Compare(a.GetFinding().GetKind(), b.GetFinding().GetKind()),
			cmp.Compare(a.GetFinding().GetSubject(), b.GetFinding().GetSubject()))
	})
	return &arcanosv1.DiffRunsResponse{RunId: run.GetRunId(), BaseRunId: baseID, Changes: changes}, nil
}

// previousRun finds the newest run started before run over the same hosts.
func (s *Service) previousRun(ctx context.Context, run *arcanosv1.Run) (string, error) {
	runs, err := s.opts.Store.ListRuns(ctx, diffScan)
	if err != nil {
		return "", storeStatus(err, "list runs")
	}
	hosts := slices.Sorted(maps.Keys(run.GetHosts()))
	started := run.GetStartedAt().AsTime()
	for _, r := range runs {
		if r.GetRunId() == run.GetRunId() || !r.GetStartedAt().AsTime().Before(started) {
			continue
		}
		if slices.Equal(hosts, slices.Sorted(maps.Keys(r.GetHosts()))) &&
			samePhases(run.GetPhases(), r.GetPhases()) {
			return r.GetRunId(), nil
		}
	}
	return "", status.Errorf(codes.FailedPrecondition,
		"no run before %s covers the same %d hosts and phases; name the base run: arcanosctl runs diff %s BASE",
		run.GetRunId(), len(hosts), run.GetRunId())
}

func (s *Service) resultsByHost(ctx context.Context, runID string) (map[string]*arcanosv1.RunResult, error) {
	results, err := s.opts.Store.Results(ctx, runID)
	if err != nil {
		return nil, storeStatus(err, "results of run "+runID)
	}
	out := make(map[string]*arcanosv1.RunResult, len(results))
	for _, r := range results {
		out[r.GetHost()] = r
	}
	return out, nil
}

type findingKey struct{ phase, kind, subject string }

func findingsOf(r *arcanosv1.RunResult, phases map[string]bool) map[findingKey]*arcanosv1.Finding {
	out := map[findingKey]*arcanosv1.Finding{}
	for _, p := range r.GetPhases() {
		if !phases[p.GetName()] {
			continue
		}
		for _, f := range p.GetFindings() {
			out[findingKey{p.GetName(), f.GetKind(), f.GetSubject()}] = f
		}
	}
	return out
}

// phasesIn is the set of phases a result holds.
func phasesIn(r *arcanosv1.RunResult) map[string]bool {
	out := map[string]bool{}
	for _, p := range r.GetPhases() {
		out[p.GetName()] = true
	}
	return out
}

// samePhases compares two runs' phase lists; an empty list means all phases.
func samePhases(a, b []string) bool {
	norm := func(p []string) []string {
		if len(p) == 0 {
			return nil
		}
		return slices.Sorted(slices.Values(p))
	}
	return slices.Equal(norm(a), norm(b))
}
