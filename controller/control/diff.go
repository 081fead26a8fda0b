package control

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arcanos-dev/arcanos/pkg/report"
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
		return nil, runStatus(err, req.GetRunId())
	}

	baseID := req.GetBaseRunId()
	if baseID == "" {
		if baseID, err = s.previousRun(ctx, run); err != nil {
			return nil, err
		}
	} else if _, err := s.opts.Store.GetRun(ctx, baseID); err != nil {
		return nil, runStatus(err, baseID)
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
	var skipped []*arcanosv1.PhaseNotCompared
	for _, host := range slices.Sorted(maps.Keys(now)) {
		prev, ok := before[host]
		if !ok {
			continue
		}
		// Only phases both runs completed are compared: a phase one side
		// skipped or could not finish is not drift.
		both, left := comparable(now[host], run.GetRunId(), prev, baseID)
		for _, l := range left {
			l.Host = host
		}
		skipped = append(skipped, left...)
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
	return &arcanosv1.DiffRunsResponse{RunId: run.GetRunId(), BaseRunId: baseID, Changes: changes,
		NotCompared: skipped}, nil
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
		"no run before %s covers the same %s and phases; name the base run: arcanosctl runs diff %s BASE",
		run.GetRunId(), plural(len(hosts), "host"), run.GetRunId())
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

// comparable returns the phases both results completed, and the phases
// either holds that the other did not, or that one did not complete, with
// why.
func comparable(cur *arcanosv1.RunResult, curID string, prev *arcanosv1.RunResult, prevID string,
) (map[string]bool, []*arcanosv1.PhaseNotCompared) {
	a, b := phaseStates(cur), phaseStates(prev)
	both := map[string]bool{}
	var left []*arcanosv1.PhaseNotCompared
	for _, name := range slices.Sorted(maps.Keys(a)) {
		why, ok := a[name], true
		prevWhy, had := b[name]
		switch {
		case !had:
			why, ok = "not run in "+prevID, false
		case why != "":
			why, ok = why+" in "+curID, false
		case prevWhy != "":
			why, ok = prevWhy+" in "+prevID, false
		}
		if ok {
			both[name] = true
		} else {
			left = append(left, &arcanosv1.PhaseNotCompared{Phase: name, Reason: why})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[name]; !ok {
			left = append(left, &arcanosv1.PhaseNotCompared{Phase: name, Reason: "not run in " + curID})
		}
	}
	return both, left
}

// phaseStates maps each phase of a result to "" when it completed, else to
// what it did not complete: its status, or a source that failed.
func phaseStates(r *arcanosv1.RunResult) map[string]string {
	out := map[string]string{}
	for _, p := range r.GetPhases() {
		out[p.GetName()] = incomplete(p)
	}
	return out
}

func incomplete(p *arcanosv1.PhaseResult) string {
	if st := p.GetStatus(); st != arcanosv1.PhaseStatus_PHASE_STATUS_OK {
		return report.StatusWord(st)
	}
	for _, src := range p.GetSources() {
		switch src.GetStatus() {
		case arcanosv1.PhaseStatus_PHASE_STATUS_FAILED, arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT:
			return "source " + src.GetName() + " " + report.StatusWord(src.GetStatus())
		}
	}
	return ""
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

// plural says "1 host" or "3 hosts".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
