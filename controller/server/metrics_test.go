package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/arcanos-dev/arcanos/pkg/pki"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// scrape GETs path from the controller's metrics listener over real HTTP.
func scrape(t *testing.T, f *fixture, path string) (int, string) {
	t.Helper()
	addr := f.c.MetricsAddr()
	if addr == "" {
		t.Fatal("metrics listener not serving")
	}
	req, err := http.NewRequestWithContext(ctx(t), http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// series scrapes /metrics and parses the text exposition into series ->
// value, each series written as exposed: name{label="value",...}.
func series(t *testing.T, f *fixture) map[string]float64 {
	t.Helper()
	code, body := scrape(t, f, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: status %d: %s", code, body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// expect checks the values of series.
func expect(t *testing.T, got, want map[string]float64) {
	t.Helper()
	for s, v := range want {
		g, ok := got[s]
		switch {
		case !ok:
			t.Errorf("%s not exposed", s)
		case g != v:
			t.Errorf("%s = %v, want %v", s, g, v)
		}
	}
}

// judged is a detect phase of 1.5s: two unauthorized findings, one
// authorized, one protected.
func judged() *arcanosv1.PhaseResult {
	p := &arcanosv1.PhaseResult{Name: "detect", Status: okStatus, Duration: durationpb.New(1500 * time.Millisecond)}
	for subject, v := range map[string]arcanosv1.Verdict{
		"miner": arcanosv1.Verdict_VERDICT_UNAUTHORIZED, "proxy": arcanosv1.Verdict_VERDICT_UNAUTHORIZED,
		"sshd": arcanosv1.Verdict_VERDICT_AUTHORIZED, "init": arcanosv1.Verdict_VERDICT_PROTECTED,
	} {
		p.Findings = append(p.Findings, &arcanosv1.Finding{Kind: "process", Subject: subject, Verdict: v})
	}
	for _, target := range []string{"miner", "proxy"} {
		p.Actions = append(p.Actions, &arcanosv1.Action{Kind: "signal", Target: target,
			State: arcanosv1.ActionState_ACTION_STATE_PLANNED})
	}
	return p
}

func TestMetricsShowAFleetRunOverHTTP(t *testing.T) {
	cfg := testConfig(t)
	cfg.MetricsListen = "127.0.0.1:0"
	f := start(t, cfg)

	if code, body := scrape(t, f, "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("/healthz: %d %q, want 200 ok", code, body)
	}
	// The standard gRPC health service answers without a client certificate.
	hc := healthpb.NewHealthClient(dial(t, f.socket, pki.EnrollTLS(f.c.Fingerprint)))
	if resp, err := hc.Check(ctx(t), &healthpb.HealthCheckRequest{}); err != nil ||
		resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("gRPC health of the controller: %v %v, want SERVING", resp, err)
	}
	// Every known label value is exposed at zero before anything happened.
	expect(t, series(t, f), map[string]float64{
		"arcanos_controller_agents_connected":                       0,
		`arcanos_controller_runs_total{outcome="complete"}`:         0,
		`arcanos_controller_findings_total{verdict="unauthorized"}`: 0,
		`arcanos_controller_host_runs_total{state="finished"}`:      0,
		`arcanos_controller_build_info{version="test"}`:             1,
	})

	a := f.newAgent(t, "web-1", nil)
	if _, err := f.enroll(t, "web-2", f.token(t, ""), nil); err != nil {
		t.Fatal(err)
	}
	ev := f.purge(t, &arcanosv1.StartPurgeRequest{Selector: &arcanosv1.Selector{Hosts: "web-*"},
		DryRun: true, Phases: []string{"detect"}, TimeoutSeconds: 120})
	id := a.command().GetRunId()
	a.phase(id, 1, judged())
	a.phase(id, 1, judged()) // re-sent after a reconnect: measured once
	res := resultOf(id, "web-1", okStatus, judged())
	res.Summary = &arcanosv1.RunSummary{Authorized: 1, Unauthorized: 2, Protected: 1, ActionsPlanned: 2}
	a.result(id, res)
	a.result(id, res) // re-sent: measured once
	if err := ev.rest(); err != nil {
		t.Fatal(err)
	}

	got := series(t, f)
	expect(t, got, map[string]float64{
		"arcanos_controller_agents_connected":                                       1,
		"arcanos_controller_hosts_enrolled":                                         2,
		`arcanos_controller_phase_duration_seconds_count{phase="detect"}`:           1,
		`arcanos_controller_phase_duration_seconds_sum{phase="detect"}`:             1.5,
		`arcanos_controller_phase_duration_seconds_bucket{phase="detect",le="1"}`:   0,
		`arcanos_controller_phase_duration_seconds_bucket{phase="detect",le="2.5"}`: 1,
		`arcanos_controller_findings_total{verdict="unauthorized"}`:                 2,
		`arcanos_controller_findings_total{verdict="authorized"}`:                   1,
		`arcanos_controller_findings_total{verdict="protected"}`:                    1,
		`arcanos_controller_findings_total{verdict="unknown"}`:                      0,
		`arcanos_controller_actions_total{state="planned"}`:                         2,
		"arcanos_controller_dispatch_to_result_seconds_count":                       1,
		// web-1 finished, web-2 was offline: the run is partial.
		`arcanos_controller_runs_total{outcome="partial"}`:     1,
		`arcanos_controller_runs_total{outcome="complete"}`:    0,
		`arcanos_controller_host_runs_total{state="finished"}`: 1,
		`arcanos_controller_host_runs_total{state="offline"}`:  1,
		"arcanos_controller_reports_untracked_total":           2,
	})
	for _, s := range []string{"arcanos_controller_store_size_bytes", "go_goroutines",
		"process_resident_memory_bytes"} {
		if got[s] <= 0 {
			t.Errorf("%s = %v, want a positive figure", s, got[s])
		}
	}
}

func TestMetricsCountARunInterruptedByARestart(t *testing.T) {
	cfg := testConfig(t)
	cfg.MetricsListen = "127.0.0.1:0"
	f := start(t, cfg)
	a := f.newAgent(t, "web-1", nil)
	f.purge(t, &arcanosv1.StartPurgeRequest{Selector: &arcanosv1.Selector{Hosts: "web-1"}, DryRun: true})
	a.command()
	f.stop()

	g := start(t, cfg)
	expect(t, series(t, g), map[string]float64{
		`arcanos_controller_runs_total{outcome="interrupted"}`: 1,
		`arcanos_controller_host_runs_total{state="failed"}`:   1,
		"arcanos_controller_agents_connected":                  0,
		"arcanos_controller_hosts_enrolled":                    1,
	})
}

func TestMetricsListenerIsOffByDefaultAndATakenAddressFailsTheStart(t *testing.T) {
	f := start(t, testConfig(t))
	if addr := f.c.MetricsAddr(); addr != "" {
		t.Fatalf("metrics served on %s without metrics_listen", addr)
	}
	f.stop()

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := f.cfg
	cfg.MetricsListen = taken.Addr().String()
	if c, err := Open(t.Context(), cfg, "test", quietLog()); err == nil {
		_ = c.Close()
		t.Fatalf("controller opened with metrics_listen %s taken", cfg.MetricsListen)
	} else if !strings.Contains(err.Error(), "metrics") {
		t.Fatalf("error %q does not say the metrics listener failed", err)
	}
	// The failed start closed its store: the data dir opens again.
	start(t, f.cfg)
}
