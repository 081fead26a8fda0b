package purge

import arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"

// Exit codes of `arcanos-agent purge`, documented in the README.
const (
	// ExitOK: the run completed and every finding is authorized, protected
	// or unknown.
	ExitOK = 0
	// ExitFailed: the run failed or timed out, a phase failed, or an action
	// of a real run failed.
	ExitFailed = 1
	// ExitUsage: bad configuration or usage; nothing was done.
	ExitUsage = 2
	// ExitUnauthorized: the run completed and found unauthorized daemons
	// or startup entries.
	ExitUnauthorized = 3
)

// ExitCode maps a result to the exit code a CI job can branch on. A failure
// outranks unauthorized findings: a partial result cannot vouch for a host.
// A source that failed or timed out makes the result partial; a source that
// is absent (unavailable) does not. A planned or refused stop counts as an
// unauthorized finding even when the detect phase was not asked for.
func ExitCode(res *arcanosv1.RunResult) int {
	if res.Status != arcanosv1.PhaseStatus_PHASE_STATUS_OK {
		return ExitFailed
	}
	stops := 0
	for _, p := range res.Phases {
		if p.Status == arcanosv1.PhaseStatus_PHASE_STATUS_FAILED ||
			p.Status == arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT {
			return ExitFailed
		}
		for _, src := range p.Sources {
			if src.Status == arcanosv1.PhaseStatus_PHASE_STATUS_FAILED ||
				src.Status == arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT {
				return ExitFailed
			}
		}
		if p.Name == "terminate" {
			stops += len(p.Actions)
		}
	}
	s := res.Summary
	if s == nil {
		s = Summarize(res)
	}
	if s.ActionsFailed > 0 {
		return ExitFailed
	}
	if s.Unauthorized > 0 || stops > 0 {
		return ExitUnauthorized
	}
	return ExitOK
}
