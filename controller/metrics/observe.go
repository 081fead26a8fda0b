package metrics

import (
	"strings"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/summary"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// phaseStored measures a stored phase report: its duration, once.
func (m *Metrics) phaseStored(runID, host string, seq int32, p *arcanosv1.PhaseResult) {
	if !m.flights.phase(runID, host, seq) {
		m.unreported.Inc()
		return
	}
	if d := p.GetDuration(); d != nil {
		m.phases.WithLabelValues(phaseLabel(p.GetName())).Observe(d.AsDuration().Seconds())
	}
}

// resultStored measures a stored run result, once: the latency since its
// command was sent, its findings by verdict and its actions by state.
func (m *Metrics) resultStored(runID, host string, res *arcanosv1.RunResult, at time.Time) {
	sent, ok := m.flights.result(runID, host)
	if !ok {
		m.unreported.Inc()
		return
	}
	m.latency.Observe(at.Sub(sent).Seconds())

	s := res.GetSummary()
	if s == nil {
		s = summary.Of(res.GetPhases())
	}
	for verdict, n := range map[string]int32{
		"authorized": s.GetAuthorized(), "unauthorized": s.GetUnauthorized(),
		"protected": s.GetProtected(), "unknown": s.GetUnknown(),
	} {
		if n > 0 {
			m.findings.WithLabelValues(verdict).Add(float64(n))
		}
	}
	for state, n := range map[string]int32{
		"planned": s.GetActionsPlanned(), "done": s.GetActionsDone(),
		"refused": s.GetActionsRefused(), "failed": s.GetActionsFailed(),
	} {
		if n > 0 {
			m.actions.WithLabelValues(state).Add(float64(n))
		}
	}
}

// runFinished counts a run that reached its end and its hosts' final
// states.
func (m *Metrics) runFinished(rec *arcanosv1.Run) {
	own := m.flights.finished(rec.GetRunId())
	m.runs.WithLabelValues(outcome(rec, own)).Inc()
	for _, st := range rec.GetHosts() {
		name := strings.ToLower(strings.TrimPrefix(st.String(), "HOST_RUN_STATE_"))
		for _, known := range hostStates {
			if name == known {
				m.hostRuns.WithLabelValues(name).Inc()
			}
		}
	}
}

// outcome sums up a finished run; own says this process followed it from
// its start, so a run it did not is one a restart interrupted.
func outcome(rec *arcanosv1.Run, own bool) string {
	if !own {
		return OutcomeInterrupted
	}
	var finished, skipped int
	for _, st := range rec.GetHosts() {
		switch st {
		case arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED:
			finished++
		case arcanosv1.HostRunState_HOST_RUN_STATE_SKIPPED:
			skipped++
		}
	}
	switch {
	case skipped > 0:
		return OutcomeStopped
	case finished == len(rec.GetHosts()):
		return OutcomeComplete
	case finished == 0:
		return OutcomeFailed
	}
	return OutcomePartial
}
