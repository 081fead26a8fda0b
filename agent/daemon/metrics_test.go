package daemon

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arcanos-dev/arcanos/agent/metrics"
)

// gauge gathers reg and returns the value of the gauge name (with the
// verdict label when given).
func gauge(t *testing.T, reg *prometheus.Registry, name, verdict string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.GetMetric() {
			ls := s.GetLabel()
			if verdict == "" || (len(ls) == 1 && ls[0].GetValue() == verdict) {
				return s.GetGauge().GetValue() + s.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("%s %s not gathered", name, verdict)
	return 0
}

func TestObserverSeesTheConnectionTheSpoolAndTheLastRun(t *testing.T) {
	fc := newFakeController(t) // no acks: the reports stay spooled
	m := metrics.New("test")
	d, err := New(Config{Settings: testSettings(t, enrollHost(t, fc, "web-1", nil)),
		Logger: testLogger(t), Observer: m})
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{Daemon: d}
	m.CountSpooled(a.Unacked)
	a.start(t)

	s := fc.nextStream(t)
	eventually(t, "connected once welcomed", func() bool {
		return gauge(t, m.Registry(), "arcanos_agent_connected", "") == 1
	})

	s.send(runCommand("run-1", true, "detect"))
	if s.next(t).GetPhase() == nil {
		t.Fatal("want the detect phase report first")
	}
	res := s.next(t).GetRun().GetResult()
	if res == nil {
		t.Fatal("want the run report")
	}
	sum := res.GetSummary()
	for verdict, want := range map[string]int32{"authorized": sum.GetAuthorized(),
		"unauthorized": sum.GetUnauthorized(), "protected": sum.GetProtected()} {
		if got := gauge(t, m.Registry(), "arcanos_agent_last_run_findings", verdict); got != float64(want) {
			t.Errorf("last run %s findings = %v, want the result's %d", verdict, got, want)
		}
	}
	if sum.GetAuthorized()+sum.GetUnauthorized()+sum.GetProtected() == 0 {
		t.Error("a dry run of detect on this host found nothing; the comparison above proves nothing")
	}
	wantDur := res.GetFinishedAt().AsTime().Sub(res.GetStartedAt().AsTime()).Seconds()
	if got := gauge(t, m.Registry(), "arcanos_agent_last_run_duration_seconds", ""); got != wantDur || got <= 0 {
		t.Errorf("last run duration = %v, want the result's %v", got, wantDur)
	}
	if got := gauge(t, m.Registry(), "arcanos_agent_spooled_reports", ""); got != 2 {
		t.Errorf("spooled reports = %v, want 2 (phase and result, unacknowledged)", got)
	}

	a.stop(t)
	if got := gauge(t, m.Registry(), "arcanos_agent_connected", ""); got != 0 {
		t.Errorf("connected after the agent stopped = %v, want 0", got)
	}
}
