// Package metrics exposes arcanos-agent's figures to Prometheus: whether it
// is connected to its controller, how many reports wait in its spool, and
// the duration and findings of its last run, plus the Go runtime and process
// collectors. It implements daemon.Observer, so the daemon tells it what
// happens without knowing how it is exposed.
package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// Namespace prefixes every metric of the agent.
const Namespace = "arcanos_agent"

// verdicts are the values of the verdict label.
var verdicts = []string{"authorized", "unauthorized", "protected", "unknown"}

// Metrics holds the agent's collectors and the listener serving them. It is
// safe for concurrent use.
type Metrics struct {
	reg     *prometheus.Registry
	spooled atomic.Pointer[func() int]

	connected    prometheus.Gauge
	lastDuration prometheus.Gauge
	lastFinished prometheus.Gauge
	lastFailed   prometheus.Gauge
	lastFindings *prometheus.GaugeVec
	runs         prometheus.Counter

	http httpServer
}

// New returns the agent's metrics, registered in a registry of their own
// with the Go and process collectors; version labels build_info.
func New(version string) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help})
	}
	m.connected = gauge("connected", "1 while a stream to the controller is open and welcomed, else 0.")
	m.lastDuration = gauge("last_run_duration_seconds", "Duration of the last run this agent finished.")
	m.lastFinished = gauge("last_run_timestamp_seconds",
		"When the last run this agent finished ended, in seconds since the epoch (0: none yet).")
	m.lastFailed = gauge("last_run_failed", "1 when the last run could not complete, else 0.")
	m.lastFindings = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "last_run_findings",
		Help: "Findings of the last run this agent finished, by verdict.",
	}, []string{"verdict"})
	m.runs = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "runs_total", Help: "Runs this agent finished since it started.",
	})
	for _, v := range verdicts {
		m.lastFindings.WithLabelValues(v)
	}

	m.reg.MustRegister(m.connected, m.lastDuration, m.lastFinished, m.lastFailed, m.lastFindings, m.runs,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "spooled_reports",
			Help: "Reports kept on disk until the controller acknowledges them.",
		}, m.spooledReports),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "build_info",
			Help:        "Always 1; the version label is the agent's version.",
			ConstLabels: prometheus.Labels{"version": version},
		}, func() float64 { return 1 }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// CountSpooled sets how the spooled reports are counted at each scrape
// (daemon.Daemon.Unacked); until then they count 0.
func (m *Metrics) CountSpooled(count func() int) { m.spooled.Store(&count) }

func (m *Metrics) spooledReports() float64 {
	if f := m.spooled.Load(); f != nil {
		return float64((*f)())
	}
	return 0
}

// Connected implements daemon.Observer.
func (m *Metrics) Connected(up bool) {
	if up {
		m.connected.Set(1)
		return
	}
	m.connected.Set(0)
}

// RunFinished implements daemon.Observer: the result becomes the last run.
func (m *Metrics) RunFinished(res *arcanosv1.RunResult) {
	m.runs.Inc()
	if s, f := res.GetStartedAt(), res.GetFinishedAt(); s != nil && f != nil {
		m.lastDuration.Set(f.AsTime().Sub(s.AsTime()).Seconds())
		m.lastFinished.Set(float64(f.AsTime().UnixNano()) / 1e9)
	}
	failed := 0.0
	if res.GetStatus() == arcanosv1.PhaseStatus_PHASE_STATUS_FAILED {
		failed = 1
	}
	m.lastFailed.Set(failed)

	s := res.GetSummary()
	for verdict, n := range map[string]int32{
		"authorized": s.GetAuthorized(), "unauthorized": s.GetUnauthorized(),
		"protected": s.GetProtected(), "unknown": s.GetUnknown(),
	} {
		m.lastFindings.WithLabelValues(verdict).Set(float64(n))
	}
}

// Registry is the registry the collectors are in.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }
