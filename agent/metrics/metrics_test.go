package metrics

import (
	"bufio"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/arcanos-dev/arcanos/agent/daemon"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

var _ daemon.Observer = (*Metrics)(nil)

// scrape GETs m's /metrics over real HTTP and returns series -> value.
func scrape(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + m.Addr().String() + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
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
	return out
}

func TestAgentMetricsFollowConnectionSpoolAndLastRun(t *testing.T) {
	m := New("1.2.3")
	if err := m.Listen("127.0.0.1:0", slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})

	resp, err := http.Get("http://" + m.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		t.Fatalf("/healthz: %s %q", resp.Status, body)
	}

	before := scrape(t, m)
	for _, s := range []string{"arcanos_agent_connected", "arcanos_agent_spooled_reports",
		`arcanos_agent_last_run_findings{verdict="unauthorized"}`, "arcanos_agent_runs_total"} {
		if v, ok := before[s]; !ok || v != 0 {
			t.Errorf("before anything happened %s = %v (exposed %v), want 0", s, v, ok)
		}
	}

	m.Connected(true)
	m.CountSpooled(func() int { return 3 })
	start := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	for _, unauthorized := range []int32{5, 2} { // the second run replaces the first
		m.RunFinished(&arcanosv1.RunResult{
			StartedAt: timestamppb.New(start), FinishedAt: timestamppb.New(start.Add(2500 * time.Millisecond)),
			Status:  arcanosv1.PhaseStatus_PHASE_STATUS_OK,
			Summary: &arcanosv1.RunSummary{Authorized: 7, Unauthorized: unauthorized, Protected: 1},
		})
	}
	got := scrape(t, m)
	want := map[string]float64{
		"arcanos_agent_connected":                                 1,
		"arcanos_agent_spooled_reports":                           3,
		"arcanos_agent_runs_total":                                2,
		"arcanos_agent_last_run_duration_seconds":                 2.5,
		"arcanos_agent_last_run_timestamp_seconds":                float64(start.Unix()) + 2.5,
		"arcanos_agent_last_run_failed":                           0,
		`arcanos_agent_last_run_findings{verdict="authorized"}`:   7,
		`arcanos_agent_last_run_findings{verdict="unauthorized"}`: 2,
		`arcanos_agent_last_run_findings{verdict="protected"}`:    1,
		`arcanos_agent_last_run_findings{verdict="unknown"}`:      0,
		`arcanos_agent_build_info{version="1.2.3"}`:               1,
	}
	for s, v := range want {
		if got[s] != v {
			t.Errorf("%s = %v, want %v", s, got[s], v)
		}
	}
	if got["process_resident_memory_bytes"] <= 0 {
		t.Error("process collector missing")
	}

	m.Connected(false)
	if v := scrape(t, m)["arcanos_agent_connected"]; v != 0 {
		t.Errorf("connected after the stream ended = %v, want 0", v)
	}
}
