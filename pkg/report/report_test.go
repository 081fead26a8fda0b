package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func sample() *arcanosv1.RunResult {
	return &arcanosv1.RunResult{
		RunId: "r1", Host: "web-1", DryRun: true,
		StartedAt: timestamppb.New(time.Unix(1700000000, 0)),
		Status:    arcanosv1.PhaseStatus_PHASE_STATUS_OK,
		Phases: []*arcanosv1.PhaseResult{
			{Name: "detect", Status: arcanosv1.PhaseStatus_PHASE_STATUS_OK, Duration: durationpb.New(time.Millisecond),
				Sources: []*arcanosv1.SourceResult{{Name: "docker", Status: arcanosv1.PhaseStatus_PHASE_STATUS_UNAVAILABLE, Reason: "no socket"}},
				Findings: []*arcanosv1.Finding{
					{Kind: "process", Subject: "evil\x1b[2Jname", Verdict: arcanosv1.Verdict_VERDICT_UNAUTHORIZED, Reason: "not in authorizedProcesses",
						Evidence: map[string]string{"pid": "42", "cmdline": "evil --x\nforged line"}},
					{Kind: "process", Subject: "nginx", Verdict: arcanosv1.Verdict_VERDICT_AUTHORIZED, Reason: "listed"},
				}},
			{Name: "terminate", Status: arcanosv1.PhaseStatus_PHASE_STATUS_OK, Duration: durationpb.New(time.Millisecond),
				Actions: []*arcanosv1.Action{{Kind: "signal", Target: "pid 42 (evil)", State: arcanosv1.ActionState_ACTION_STATE_PLANNED}}},
			{Name: "caches", Status: arcanosv1.PhaseStatus_PHASE_STATUS_OK, Duration: durationpb.New(time.Millisecond),
				Actions: []*arcanosv1.Action{{Kind: "flush_pm2_log", Target: "/x/out.log", State: arcanosv1.ActionState_ACTION_STATE_PLANNED, BytesReclaimed: 2048}}},
		},
	}
}

func TestPrintableEscapesControlCharacters(t *testing.T) {
	cases := map[string]string{
		"plain name":    "plain name",
		"a\x1b[31mred":  `a\x1b[31mred`,
		"two\nlines":    `two\x0alines`,
		"tab\there":     `tab\x09here`,
		"bad\xffutf8":   `bad\xffutf8`,
		"ünïcode is ok": "ünïcode is ok",
	}
	for in, want := range cases {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTableShowsUnauthorizedAndPlannedActionsSafely(t *testing.T) {
	var b bytes.Buffer
	if err := Table(&b, sample(), false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"dry run: nothing was changed", `evil\x1b[2Jname`, "planned", "signal",
		"docker unavailable: no socket", "2.0 KiB"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Error("a raw escape sequence reached the terminal output")
	}
	if strings.Contains(out, "nginx") {
		t.Error("authorized findings are listed only with -v")
	}
	b.Reset()
	_ = Table(&b, sample(), true)
	if !strings.Contains(b.String(), "nginx") {
		t.Error("-v must list authorized findings")
	}
}

func TestJSONUsesProtojsonFieldNames(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, sample()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		DryRun bool `json:"dryRun"`
		Phases []struct {
			Name     string `json:"name"`
			Status   string `json:"status"`
			Findings []struct {
				Verdict string `json:"verdict"`
			} `json:"findings"`
			Actions []struct {
				State string `json:"state"`
			} `json:"actions"`
		} `json:"phases"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if !doc.DryRun || len(doc.Phases) != 3 || doc.Phases[0].Name != "detect" ||
		doc.Phases[0].Status != "PHASE_STATUS_OK" ||
		doc.Phases[0].Findings[0].Verdict != "VERDICT_UNAUTHORIZED" ||
		doc.Phases[1].Actions[0].State != "ACTION_STATE_PLANNED" {
		t.Fatalf("unexpected JSON shape: %s", b.String())
	}
}

func TestLogsSplitScanAndCleanAndAppend(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		if err := WriteLogs(dir, sample()); err != nil {
			t.Fatal(err)
		}
	}
	scan, _ := os.ReadFile(filepath.Join(dir, ScanLog))
	clean, _ := os.ReadFile(filepath.Join(dir, CleanLog))
	if n := strings.Count(string(scan), "==== arcanos scan"); n != 2 {
		t.Errorf("scan log has %d runs, want 2 (appended)", n)
	}
	if !strings.Contains(string(scan), "[unauthorized] process") || strings.Contains(string(scan), "flush_pm2_log") {
		t.Errorf("scan log must hold findings, not actions:\n%s", scan)
	}
	if !strings.Contains(string(clean), "[planned] flush_pm2_log /x/out.log (2.0 KiB)") ||
		!strings.Contains(string(clean), "DRY RUN") {
		t.Errorf("clean log lacks the planned action:\n%s", clean)
	}
	if strings.Contains(string(scan), "\nforged line") {
		t.Error("a newline in evidence forged a log line")
	}
}

func TestCheckLogDirRefusesUnwritable(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	_ = os.WriteFile(f, nil, 0o600)
	if err := CheckLogDir(filepath.Join(f, "sub")); err == nil {
		t.Fatal("a log dir under a file must be refused")
	}
}

func TestLogsRefuseSymlinksAndFIFOs(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	_ = os.WriteFile(victim, []byte("keep\n"), 0o600)
	if err := os.Symlink(victim, filepath.Join(dir, ScanLog)); err != nil {
		t.Fatal(err)
	}
	if err := CheckLogDir(dir); err == nil {
		t.Error("a symlinked log must be refused before the run")
	}
	if err := WriteLogs(dir, sample()); err == nil {
		t.Error("writing through a symlinked log must fail")
	}
	if data, _ := os.ReadFile(victim); string(data) != "keep\n" {
		t.Errorf("the symlink's target was written: %q", data)
	}

	fifoDir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(fifoDir, CleanLog), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckLogDir(fifoDir); err == nil {
		t.Error("a FIFO log must be refused before the run")
	}
	done := make(chan error, 1)
	go func() { done <- WriteLogs(fifoDir, sample()) }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("writing to a FIFO log must fail")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WriteLogs hung on a FIFO")
	}
}

func TestHostNameCannotForgeALogHeader(t *testing.T) {
	dir := t.TempDir()
	res := sample()
	res.Host = "web1\n==== arcanos scan  host=fake"
	if err := WriteLogs(dir, res); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, ScanLog))
	if strings.Contains("\n"+string(data), "\n==== arcanos scan  host=fake") {
		t.Errorf("a host name forged a header:\n%s", data)
	}
}
