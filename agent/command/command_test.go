package command

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// agent runs the command line in-process and returns its exit code, stdout
// and stderr.
func agent(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// quiet are flags that keep a dry run away from Docker and systemd so the
// CLI tests stay fast and independent of the machine.
func quiet(dir string) []string {
	return []string{"--log-dir", filepath.Join(dir, "logs"),
		"--docker-host", "unix://" + filepath.Join(dir, "none.sock"),
		"--systemd-bus", "unix:path=" + filepath.Join(dir, "none.sock")}
}

func TestValidateConfigReportsEveryProblemAndExits2(t *testing.T) {
	dir := t.TempDir()
	al := write(t, dir, "a.json", `{
  "authorizedProcess": ["nginx"],
  "authorizedServices": ["nginx", "nginx", ""],
  "allowedDockerImages": [42]
}`)
	code, out, errs := agent(t, "validate-config", "--allowlist", al)
	if code != 2 {
		t.Fatalf("exit %d, want 2; stderr: %s", code, errs)
	}
	for _, want := range []string{"a.json:2:3: $.authorizedProcess", "authorizedProcesses",
		"$.authorizedServices[1]", "$.authorizedServices[2]", "$.allowedDockerImages[0]"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if out != "" {
		t.Errorf("nothing belongs on stdout for problems, got %q", out)
	}

	code, out, _ = agent(t, "validate-config", "--allowlist", al, "-o", "json")
	var doc struct {
		Valid    bool
		Problems []struct{ Path string }
	}
	if code != 2 || json.Unmarshal([]byte(out), &doc) != nil || doc.Valid || len(doc.Problems) < 4 {
		t.Fatalf("json: exit %d, doc %+v from %s", code, doc, out)
	}
}

func TestPurgeRefusesABadAllowlistAndDoesNothing(t *testing.T) {
	dir := t.TempDir()
	al := write(t, dir, "a.json", `{"authorizedProcesses": ["nginx",]}`)
	args := append([]string{"purge", "--dry-run", "--allowlist", al}, quiet(dir)...)
	code, out, errs := agent(t, args...)
	if code != 2 || !strings.Contains(errs, "nothing was done") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if out != "" {
		t.Errorf("a refused run printed results: %q", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "logs")); !os.IsNotExist(err) {
		t.Error("a refused run created its log directory")
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	al := write(t, dir, "a.json", `{}`)
	cases := [][]string{
		{"purge", "--phases", "detect,explode"},
		{"purge", "-o", "yaml"},
		{"purge", "--no-such-flag"},
		{"purge", "extra-arg"},
		{"purge", "--log-level", "loud"},
		{"purge", "--config", filepath.Join(dir, "missing.yaml")},
		{"purge", "--timeout", "soon"},
	}
	for _, c := range cases {
		args := append(c, "--allowlist", al, "--dry-run")
		if code, _, errs := agent(t, args...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 with a message", c, code, errs)
		}
	}
}

func TestDryRunJSONAndExitCodes(t *testing.T) {
	dir := t.TempDir()
	clean := write(t, dir, "clean.json", `{"authorizedProcesses": []}`)

	// Only this test's own process tree is seen as "detect" input on a
	// host; the detect phase there finds things that are not authorized by
	// an empty allowlist, so the exit code is 3 unless nothing runs.
	args := append([]string{"purge", "--dry-run", "--allowlist", clean, "--phases", "detect", "-o", "json"}, quiet(dir)...)
	code, out, errs := agent(t, args...)
	if code != 0 && code != 3 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc struct {
		DryRun bool `json:"dryRun"`
		Phases []struct {
			Name     string
			Status   string
			Findings []struct{ Verdict string }
			Sources  []struct{ Name, Status, Reason string }
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if !doc.DryRun || len(doc.Phases) != 1 || doc.Phases[0].Name != "detect" {
		t.Fatalf("unexpected result: %+v", doc)
	}
	unauthorized := 0
	for _, f := range doc.Phases[0].Findings {
		if f.Verdict == "VERDICT_UNAUTHORIZED" {
			unauthorized++
		}
	}
	if (unauthorized > 0) != (code == 3) {
		t.Errorf("exit %d with %d unauthorized findings", code, unauthorized)
	}
	status := map[string]string{}
	for _, s := range doc.Phases[0].Sources {
		status[s.Name] = s.Status
	}
	if status["processes"] != "PHASE_STATUS_OK" || status["docker"] != "PHASE_STATUS_UNAVAILABLE" {
		t.Errorf("sources = %v: want processes ok and an absent docker unavailable", status)
	}
	for _, name := range []string{"daemon-scan.log", "daemon-clean.log"} {
		if _, err := os.Stat(filepath.Join(dir, "logs", name)); err != nil {
			t.Errorf("%s not written: %v", name, err)
		}
	}
}

func TestHangingDockerTimesOutAndTheRunGoesOn(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "hang.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accept and never answer
		}
	}()
	al := write(t, dir, "a.json", `{}`)
	code, out, errs := agent(t, "purge", "--dry-run", "--allowlist", al, "--phases", "detect,health",
		"--log-dir", filepath.Join(dir, "logs"), "--docker-host", "unix://"+sock,
		"--systemd-bus", "unix:path="+filepath.Join(dir, "none.sock"),
		"--source-timeout", "500ms", "-o", "json")
	if code == 2 {
		t.Fatalf("exit 2: %s", errs)
	}
	var doc struct {
		Phases []struct {
			Name    string
			Sources []struct{ Name, Status string }
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Phases) == 0 {
		t.Fatalf("not a result (%v):\n%s", err, out)
	}
	seen := map[string]bool{}
	for _, s := range doc.Phases[0].Sources {
		seen[s.Name] = true
	}
	if !seen["docker"] || !seen["processes"] {
		t.Fatalf("sources missing: %v", seen)
	}
	for _, s := range doc.Phases[0].Sources {
		switch s.Name {
		case "docker":
			if s.Status != "PHASE_STATUS_TIMED_OUT" && s.Status != "PHASE_STATUS_UNAVAILABLE" {
				t.Errorf("hanging docker: %s", s.Status)
			}
		case "processes":
			if s.Status != "PHASE_STATUS_OK" {
				t.Errorf("processes must not suffer from docker: %s", s.Status)
			}
		}
	}
	if len(doc.Phases) != 2 || doc.Phases[1].Name != "health" {
		t.Errorf("the health phase must still run: %+v", doc.Phases)
	}
}

func TestWholeRunTimeoutKeepsPartialResultAndExits1(t *testing.T) {
	dir := t.TempDir()
	al := write(t, dir, "a.json", `{}`)
	args := append([]string{"purge", "--dry-run", "--allowlist", al, "--timeout", "1ms", "-o", "json"}, quiet(dir)...)
	code, out, _ := agent(t, args...)
	if code != 1 {
		t.Fatalf("exit %d, want 1 for a timed-out run", code)
	}
	if !strings.Contains(out, "PHASE_STATUS_TIMED_OUT") || !strings.Contains(out, "ran out") {
		t.Errorf("timed-out run not said so:\n%s", out)
	}
}

func TestHelpHasExamples(t *testing.T) {
	code, out, _ := agent(t, "purge", "--help")
	if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "Exit codes") {
		t.Fatalf("purge --help lacks examples or exit codes:\n%s", out)
	}
	code, out, _ = agent(t, "completion", "bash")
	if code != 0 || !strings.Contains(out, "arcanos-agent") {
		t.Fatalf("completion bash: exit %d", code)
	}
}

func TestTimedOutPhaseKeepsItsPartialResult(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "hang.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	al := write(t, dir, "a.json", `{}`)
	code, out, errs := agent(t, "purge", "--dry-run", "--allowlist", al, "--phases", "detect",
		"--log-dir", filepath.Join(dir, "logs"), "--docker-host", "unix://"+sock,
		"--systemd-bus", "unix:path="+filepath.Join(dir, "none.sock"),
		"--source-timeout", "10s", "--phase-timeout", "700ms", "-o", "json")
	if code != 1 {
		t.Fatalf("exit %d, want 1 for a timed-out phase; stderr %s", code, errs)
	}
	var doc struct {
		Phases []struct {
			Status   string
			Errors   []string
			Findings []struct{ Kind string }
			Sources  []struct{ Name, Status string }
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Phases) != 1 {
		t.Fatalf("bad result (%v): %s", err, out)
	}
	p := doc.Phases[0]
	if p.Status != "PHASE_STATUS_TIMED_OUT" || !strings.Contains(strings.Join(p.Errors, " "), "partial") {
		t.Errorf("status %s errors %v; want timed out and said partial", p.Status, p.Errors)
	}
	procs := 0
	for _, f := range p.Findings {
		if f.Kind == "process" {
			procs++
		}
	}
	if procs == 0 {
		t.Error("the processes read before the deadline were lost")
	}
}
