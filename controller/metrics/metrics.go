// Package metrics exposes arcanos-controller's figures to Prometheus:
// connected agents, runs by outcome, phase durations and findings from the
// agents' reports, dispatch-to-result latency and the store's size, plus the
// Go runtime and process collectors. It sees the run engine through
// decorators of the engine's own Store and Hosts interfaces, so the engine
// does not know it is measured. No metric carries a host label: a fleet of
// 10,000 hosts would make 10,000 series of each.
package metrics

import (
	"context"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every metric of the controller.
const Namespace = "arcanos_controller"

// phaseNames are the purge sequence's phases, the only values of the phase
// label; any other name an agent reports is counted as "other". They must
// stay in step with pkg/phases.All (a test checks it); importing that
// package here would link the whole one-host engine into the controller.
var phaseNames = []string{"detect", "terminate", "startup", "caches", "services", "health"}

// otherPhase labels a phase name outside phaseNames.
const otherPhase = "other"

// Run outcomes, the values of the outcome label of runs_total.
const (
	// OutcomeComplete: every selected host finished.
	OutcomeComplete = "complete"
	// OutcomePartial: some hosts finished, others did not.
	OutcomePartial = "partial"
	// OutcomeFailed: no host finished.
	OutcomeFailed = "failed"
	// OutcomeStopped: a rolling run stopped at max_failures.
	OutcomeStopped = "stopped"
	// OutcomeInterrupted: the controller restarted during the run.
	OutcomeInterrupted = "interrupted"
)

var outcomes = []string{OutcomeComplete, OutcomePartial, OutcomeFailed, OutcomeStopped, OutcomeInterrupted}

// hostStates are the final states of a host in a run, the values of the
// state label of host_runs_total.
var hostStates = []string{"finished", "failed", "refused", "offline", "skipped", "missed"}

// verdicts and actionStates are the values of the verdict and state labels.
var (
	verdicts     = []string{"authorized", "unauthorized", "protected", "unknown"}
	actionStates = []string{"planned", "done", "refused", "failed"}
)

// Options says where the collectors read the figures they do not count
// themselves.
type Options struct {
	// Hosts counts the enrolled and the connected hosts; it is called at
	// every scrape and must be cheap.
	Hosts func() (enrolled, online int)
	// StoreFile is the bbolt file whose size is reported.
	StoreFile string
	// Healthy says whether the controller serves (nil: it does); /healthz
	// answers 503 with its error.
	Healthy func(ctx context.Context) error
	// Version is the controller's version, reported by build_info.
	Version string
	// Log receives the metrics listener's errors; slog.Default() when nil.
	Log *slog.Logger
}

// Metrics holds the controller's collectors and the listener serving them.
// It is safe for concurrent use.
type Metrics struct {
	opts Options
	reg  *prometheus.Registry
	log  *slog.Logger

	runs       *prometheus.CounterVec
	hostRuns   *prometheus.CounterVec
	phases     *prometheus.HistogramVec
	findings   *prometheus.CounterVec
	actions    *prometheus.CounterVec
	latency    prometheus.Histogram
	unreported prometheus.Counter

	flights *flights
	http    httpServer
}

// New returns the controller's metrics, registered in a registry of their
// own (never the global one) with the Go and process collectors.
func New(opts Options) *Metrics {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	m := &Metrics{opts: opts, reg: prometheus.NewRegistry(), log: opts.Log, flights: newFlights()}

	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "runs_total",
		Help: "Runs that reached their end, by outcome: complete, partial, failed, stopped, interrupted.",
	}, []string{"outcome"})
	m.hostRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "host_runs_total",
		Help: "Hosts' final states in runs that reached their end.",
	}, []string{"state"})
	m.phases = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "phase_duration_seconds",
		Help:    "Duration of each phase as the agents report it, by phase.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
	}, []string{"phase"})
	m.findings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "findings_total",
		Help: "Findings in the hosts' run results, by verdict.",
	}, []string{"verdict"})
	m.actions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "actions_total",
		Help: "Actions in the hosts' run results, by state (planned in dry runs).",
	}, []string{"state"})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "dispatch_to_result_seconds",
		Help:    "Time from sending a host its run command to storing its run result.",
		Buckets: []float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
	})
	m.unreported = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "reports_untracked_total",
		Help: "Phase reports and results stored but not measured: re-sent, or for a run " +
			"this controller process did not dispatch.",
	})
	m.reg.MustRegister(m.runs, m.hostRuns, m.phases, m.findings, m.actions, m.latency, m.unreported)
	m.registerFuncs()
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)

	// Every known label value is present from the start, so queries and
	// rate() see a zero before the first event.
	for _, v := range outcomes {
		m.runs.WithLabelValues(v)
	}
	for _, v := range phaseNames {
		m.phases.WithLabelValues(v)
	}
	for _, v := range hostStates {
		m.hostRuns.WithLabelValues(v)
	}
	for _, v := range verdicts {
		m.findings.WithLabelValues(v)
	}
	for _, v := range actionStates {
		m.actions.WithLabelValues(v)
	}
	return m
}

// registerFuncs registers the figures read at scrape time.
func (m *Metrics) registerFuncs() {
	hosts := m.opts.Hosts
	if hosts == nil {
		hosts = func() (int, int) { return 0, 0 }
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "agents_connected",
			Help: "Agents with an open stream to this controller.",
		}, func() float64 { _, online := hosts(); return float64(online) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "hosts_enrolled",
			Help: "Hosts enrolled with this controller, connected or not.",
		}, func() float64 { enrolled, _ := hosts(); return float64(enrolled) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "store_size_bytes",
			Help: "Size of the store's bbolt file (it grows, and shrinks only by compaction).",
		}, m.storeSize),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "build_info",
			Help:        "Always 1; the version label is the controller's version.",
			ConstLabels: prometheus.Labels{"version": m.opts.Version},
		}, func() float64 { return 1 }),
	)
}

// storeSize is the store file's size, 0 when it cannot be read.
func (m *Metrics) storeSize() float64 {
	if m.opts.StoreFile == "" {
		return 0
	}
	fi, err := os.Stat(m.opts.StoreFile)
	if err != nil {
		m.log.Debug("read store size for metrics", "file", m.opts.StoreFile, "err", err)
		return 0
	}
	return float64(fi.Size())
}

// Registry is the registry the collectors are in, for tests and for
// serving them elsewhere.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// phaseLabel bounds the phase label to the known phases.
func phaseLabel(name string) string {
	for _, p := range phaseNames {
		if p == name {
			return p
		}
	}
	return otherPhase
}
