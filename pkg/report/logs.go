// Package report turns a run result into what a person reads: the two log
// files daemon-scan.log and daemon-clean.log, and the summary tables on
// stdout. The machine-readable form is the result itself (protojson).
package report

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// maxEvidence caps one evidence value in the logs (a unit's ExecStart can
// be a megabyte); -o json keeps the whole value.
const maxEvidence = 2048

// Log file names inside the log directory.
const (
	ScanLog  = "daemon-scan.log"
	CleanLog = "daemon-clean.log"
)

// scanPhases are written to the scan log; the others to the clean log.
var scanPhases = map[string]bool{"detect": true, "startup": true}

// CheckLogDir creates the log directory if needed and checks it is writable,
// so a run never does its work and then loses its record.
func CheckLogDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("log directory %s: %w (set log_dir or --log-dir)", dir, err)
	}
	f, err := os.CreateTemp(dir, ".arcanos-write-check-*")
	if err != nil {
		return fmt.Errorf("log directory %s is not writable: %w (set log_dir or --log-dir)", dir, err)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("log directory %s: %w", dir, err)
	}
	for _, log := range []string{ScanLog, CleanLog} {
		p := filepath.Join(dir, log)
		if st, err := os.Lstat(p); err == nil && !st.Mode().IsRegular() {
			return fmt.Errorf("log %s is a %s, not a regular file: move it away", p, st.Mode().Type())
		}
	}
	return nil
}

// WriteLogs appends this run to daemon-scan.log (what was found and where it
// starts from) and daemon-clean.log (what was done or would be done, service
// states and final health).
func WriteLogs(dir string, res *arcanosv1.RunResult) error {
	if err := appendLog(filepath.Join(dir, ScanLog), func(w io.Writer) {
		writeScan(w, res)
	}); err != nil {
		return err
	}
	return appendLog(filepath.Join(dir, CleanLog), func(w io.Writer) {
		writeClean(w, res)
	})
}

func appendLog(path string, write func(io.Writer)) error {
	// O_NOFOLLOW: a symlink planted as the log must not redirect the
	// agent's writes; O_NONBLOCK: a FIFO must not hang it. Only a regular
	// file is written.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o640)
	if err != nil {
		return fmt.Errorf("open log %s: %w (it must be a regular file, not a symlink)", path, err)
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return fmt.Errorf("log %s is not a regular file; move it away", path)
	}
	w := bufio.NewWriter(f)
	write(w)
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

func header(w io.Writer, title string, res *arcanosv1.RunResult) {
	mode := "REAL RUN"
	if res.DryRun {
		mode = "DRY RUN (nothing on the host was changed)"
	}
	fmt.Fprintf(w, "==== arcanos %s  host=%s  run=%s  %s\n", title, Printable(res.Host), Printable(res.RunId),
		res.StartedAt.AsTime().UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "     %s; agent %s; allowlist sha256 %s\n", mode, res.AgentVersion, short(res.AllowlistDigest, 16))
}

func writeScan(w io.Writer, res *arcanosv1.RunResult) {
	header(w, "scan", res)
	for _, p := range res.Phases {
		if !scanPhases[p.Name] {
			continue
		}
		phaseHeader(w, p)
		for _, f := range sortedFindings(p.Findings) {
			fmt.Fprintf(w, "  [%s] %s %s\n", verdictWord(f.Verdict), f.Kind, Printable(f.Subject))
			fmt.Fprintf(w, "      reason: %s\n", clip(f.Reason, maxEvidence, false))
			writeEvidence(w, f.Evidence)
		}
	}
	fmt.Fprintln(w)
}

func writeClean(w io.Writer, res *arcanosv1.RunResult) {
	header(w, "clean", res)
	for _, p := range res.Phases {
		if scanPhases[p.Name] {
			continue
		}
		phaseHeader(w, p)
		for _, a := range p.Actions {
			line := fmt.Sprintf("  [%s] %s %s", actionWord(a.State), a.Kind, Printable(a.Target))
			if a.BytesReclaimed > 0 {
				line += fmt.Sprintf(" (%s)", Bytes(a.BytesReclaimed))
			}
			fmt.Fprintln(w, line)
			if a.Detail != "" {
				fmt.Fprintf(w, "      %s\n", Printable(a.Detail))
			}
		}
		for _, f := range p.Findings {
			status := f.Evidence["status"]
			if status == "" {
				status = verdictWord(f.Verdict)
			}
			fmt.Fprintf(w, "  (%s) %s: %s\n", status, Printable(f.Subject), Printable(f.Reason))
			if cmd := f.Evidence["restart_command"]; cmd != "" {
				fmt.Fprintf(w, "      restart: %s\n", cmd)
			}
		}
	}
	if s := res.Summary; s != nil {
		fmt.Fprintf(w, "  summary: %d unauthorized, %d authorized, %d protected; actions %d planned, %d done, %d refused, %d failed; %s reclaimable\n",
			s.Unauthorized, s.Authorized, s.Protected, s.ActionsPlanned, s.ActionsDone,
			s.ActionsRefused, s.ActionsFailed, Bytes(s.BytesReclaimed))
	}
	for _, e := range res.Errors {
		fmt.Fprintf(w, "  run error: %s\n", Printable(e))
	}
	fmt.Fprintln(w)
}

func phaseHeader(w io.Writer, p *arcanosv1.PhaseResult) {
	fmt.Fprintf(w, "-- phase %s: %s in %s\n", p.Name, statusWord(p.Status),
		p.Duration.AsDuration().Round(time.Millisecond))
	for _, s := range p.Sources {
		if s.Status == arcanosv1.PhaseStatus_PHASE_STATUS_OK {
			fmt.Fprintf(w, "   source %s: ok, %d items, %s\n", s.Name, s.Items, s.Duration.AsDuration().Round(time.Millisecond))
			continue
		}
		fmt.Fprintf(w, "   source %s: %s: %s\n", s.Name, statusWord(s.Status), Printable(s.Reason))
	}
	for _, e := range p.Errors {
		fmt.Fprintf(w, "   error: %s\n", Printable(e))
	}
}

func writeEvidence(w io.Writer, ev map[string]string) {
	keys := make([]string, 0, len(ev))
	for k := range ev {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+quoteIfNeeded(clip(ev[k], maxEvidence, false)))
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "      %s\n", strings.Join(parts, " "))
	}
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\"=\n") {
		return fmt.Sprintf("%q", s)
	}
	return s
}

// sortedFindings puts unauthorized findings first, then by kind and subject.
func sortedFindings(fs []*arcanosv1.Finding) []*arcanosv1.Finding {
	out := append([]*arcanosv1.Finding(nil), fs...)
	rank := map[arcanosv1.Verdict]int{
		arcanosv1.Verdict_VERDICT_UNAUTHORIZED: 0, arcanosv1.Verdict_VERDICT_UNKNOWN: 1,
		arcanosv1.Verdict_VERDICT_AUTHORIZED: 2, arcanosv1.Verdict_VERDICT_PROTECTED: 3,
	}
	sort.SliceStable(out, func(i, j int) bool {
		if rank[out[i].Verdict] != rank[out[j].Verdict] {
			return rank[out[i].Verdict] < rank[out[j].Verdict]
		}
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Subject < out[j].Subject
	})
	return out
}

func short(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
