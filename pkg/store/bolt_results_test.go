package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func TestPhasesRoundTripInSeqOrderPerHost(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)
	mustDo(t, b.CreateRun(ctx, newRun("run-1", t0)))

	// Reports arrive out of order; web-10 shares web-1's prefix.
	for _, seq := range []int32{3, 1, 6, 2, 5, 4} {
		mustDo(t, b.PutPhase(ctx, "run-1", "web-1", seq, realisticPhase(phaseNames[seq-1])))
	}
	mustDo(t, b.PutPhase(ctx, "run-1", "web-10", 1, realisticPhase("detect")))

	// A re-sent report after a reconnect replaces, not duplicates.
	resent := realisticPhase("detect")
	resent.Errors = []string{"re-sent"}
	mustDo(t, b.PutPhase(ctx, "run-1", "web-1", 1, resent))

	phases, err := b.Phases(ctx, "run-1", "web-1")
	mustDo(t, err)
	if len(phases) != 6 {
		t.Fatalf("Phases(web-1) = %d phases, want 6", len(phases))
	}
	for i, p := range phases {
		if p.GetName() != phaseNames[i] {
			t.Errorf("phases[%d] = %s, want %s", i, p.GetName(), phaseNames[i])
		}
	}
	requireEqual(t, "re-sent phase 1", phases[0], resent)

	other, err := b.Phases(ctx, "run-1", "web-10")
	mustDo(t, err)
	if len(other) != 1 {
		t.Errorf("Phases(web-10) = %d phases, want 1", len(other))
	}

	seqs, err := b.PhaseSeqs(ctx, "run-1", "web-1")
	mustDo(t, err)
	if !slices.Equal(seqs, []int32{1, 2, 3, 4, 5, 6}) {
		t.Errorf("PhaseSeqs(web-1) = %v, want 1 to 6", seqs)
	}
	if seqs, err := b.PhaseSeqs(ctx, "run-1", "web-10"); err != nil || !slices.Equal(seqs, []int32{1}) {
		t.Errorf("PhaseSeqs(web-10) = %v, %v; want [1]", seqs, err)
	}

	none, err := b.Phases(ctx, "run-1", "db-1")
	mustDo(t, err)
	if none == nil || len(none) != 0 {
		t.Errorf("Phases of a host with none = %v, want an empty slice", none)
	}
}

func TestResultsRoundTripPerRun(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)
	// run-10 shares run-1's prefix.
	mustDo(t, b.CreateRun(ctx, newRun("run-1", t0)))
	mustDo(t, b.CreateRun(ctx, newRun("run-10", t0.Add(time.Hour))))

	none, err := b.Results(ctx, "run-1")
	mustDo(t, err)
	if none == nil || len(none) != 0 {
		t.Fatalf("Results before any result = %v, want an empty slice", none)
	}

	for _, host := range []string{"web-2", "db-1", "web-1"} {
		mustDo(t, b.PutResult(ctx, "run-1", host, realisticResult("run-1", host)))
	}
	mustDo(t, b.PutResult(ctx, "run-10", "web-1", realisticResult("run-10", "web-1")))

	again := realisticResult("run-1", "web-1")
	again.Errors = []string{"re-sent after reconnect"}
	mustDo(t, b.PutResult(ctx, "run-1", "web-1", again))

	results, err := b.Results(ctx, "run-1")
	mustDo(t, err)
	var hosts []string
	for _, r := range results {
		hosts = append(hosts, r.GetHost())
	}
	if fmt.Sprint(hosts) != "[db-1 web-1 web-2]" {
		t.Fatalf("Results(run-1) hosts = %v, want [db-1 web-1 web-2]", hosts)
	}
	requireEqual(t, "re-sent result", results[1], again)
	requireEqual(t, "db-1 result", results[0], realisticResult("run-1", "db-1"))
}

func TestResultWritesNeedAStoredRun(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)

	calls := map[string]func() error{
		"PutPhase":  func() error { return b.PutPhase(ctx, "ghost", "web-1", 1, realisticPhase("detect")) },
		"PutResult": func() error { return b.PutResult(ctx, "ghost", "web-1", realisticResult("ghost", "web-1")) },
		"AppendEvent": func() error {
			return b.AppendEvent(ctx, &arcanosv1.PurgeEvent{RunId: "ghost", Host: "web-1"})
		},
		"Results":   func() error { _, err := b.Results(ctx, "ghost"); return err },
		"Phases":    func() error { _, err := b.Phases(ctx, "ghost", "web-1"); return err },
		"PhaseSeqs": func() error { _, err := b.PhaseSeqs(ctx, "ghost", "web-1"); return err },
		"Events":    func() error { _, err := b.Events(ctx, "ghost"); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s for an unknown run: error = %v, want ErrNotFound", name, err)
		}
	}
}

func TestResultKeysRejectUnusableNames(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)
	mustDo(t, b.CreateRun(ctx, newRun("run-1", t0)))

	for _, host := range []string{"", "web\x001"} {
		if err := b.PutResult(ctx, "run-1", host, realisticResult("run-1", host)); err == nil {
			t.Errorf("PutResult for host %q succeeded", host)
		}
		if err := b.PutPhase(ctx, "run-1", host, 1, realisticPhase("detect")); err == nil {
			t.Errorf("PutPhase for host %q succeeded", host)
		}
	}
	if err := b.PutPhase(ctx, "run-1", "web-1", -1, realisticPhase("detect")); err == nil {
		t.Error("PutPhase with a negative seq succeeded")
	}
}

// TestConcurrentPutResultAllDurable has 200 agents' results arrive at once,
// as after a fleet-wide dry run, then reopens the file.
func TestConcurrentPutResultAllDurable(t *testing.T) {
	ctx := t.Context()
	b, path := openTestStore(t)
	mustDo(t, b.CreateRun(ctx, newRun("run-1", t0)))

	const n = 200
	putConcurrently(t, b, "run-1", hostResults("run-1", n))
	mustDo(t, b.Close())

	b = openAt(t, path)
	results, err := b.Results(ctx, "run-1")
	mustDo(t, err)
	if len(results) != n {
		t.Fatalf("Results after reopen = %d, want %d", len(results), n)
	}
	for _, r := range results {
		requireEqual(t, "result of "+r.GetHost(), r, realisticResult("run-1", r.GetHost()))
	}
}

// hostResults builds n hosts' realistic results of runID.
func hostResults(runID string, n int) []*arcanosv1.RunResult {
	rs := make([]*arcanosv1.RunResult, n)
	for i := range rs {
		rs[i] = realisticResult(runID, fmt.Sprintf("host-%04d", i))
	}
	return rs
}

// putConcurrently stores results under runID, each from its own goroutine.
func putConcurrently(tb testing.TB, b *Bolt, runID string, results []*arcanosv1.RunResult) {
	tb.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(results))
	for _, r := range results {
		wg.Go(func() { errs <- b.PutResult(context.Background(), runID, r.GetHost(), r) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			tb.Fatal(err)
		}
	}
}

const writerEnv = "ARCANOS_STORE_TEST_WRITER"

// TestPutResultIsCommittedOnReturn runs the writes in a child process and
// SIGKILLs it as soon as every PutResult returned: no Close, no exit path.
// All results must be in the file.
func TestPutResultIsCommittedOnReturn(t *testing.T) {
	b, path := openTestStore(t)
	mustDo(t, b.CreateRun(t.Context(), newRun("run-1", t0)))
	mustDo(t, b.Close())

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestStoreWriterProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), writerEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	mustDo(t, err)
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	mustDo(t, err)
	mustDo(t, cmd.Start())

	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "stored") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("writer process: %q, %v", line, err)
	}
	mustDo(t, cmd.Process.Signal(os.Kill)) // our own child, by pid
	_ = cmd.Wait()

	b = openAt(t, path)
	results, err := b.Results(t.Context(), "run-1")
	mustDo(t, err)
	if len(results) != 50 {
		t.Fatalf("results after SIGKILL of the writer = %d, want 50", len(results))
	}
}

// TestStoreWriterProcess is the child of TestPutResultIsCommittedOnReturn.
func TestStoreWriterProcess(t *testing.T) {
	path := os.Getenv(writerEnv)
	if path == "" {
		// Only the child of TestPutResultIsCommittedOnReturn does the work;
		// run on its own it has nothing to do (CI allows no skips).
		return
	}

	b, err := OpenBolt(path, BoltOptions{Logger: quiet})
	mustDo(t, err)
	putConcurrently(t, b, "run-1", hostResults("run-1", 50))
	fmt.Println("stored")

	// Wait to be killed; a closed stdin means the parent is gone.
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}

// A result stored without phases (its agent sent them by reference) reads
// back with the host's stored phases in seq order; one stored with its own
// phases reads back as stored, and a host with neither reads back empty.
func TestResultsWithoutPhasesReadBackWithTheStoredPhases(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)
	mustDo(t, b.CreateRun(ctx, newRun("run-1", t0)))

	for _, seq := range []int32{2, 1, 3} {
		mustDo(t, b.PutPhase(ctx, "run-1", "web-1", seq, realisticPhase(phaseNames[seq-1])))
		mustDo(t, b.PutPhase(ctx, "run-1", "web-10", seq, realisticPhase(phaseNames[seq-1])))
	}
	byRef := realisticResult("run-1", "web-1")
	byRef.Phases = nil
	mustDo(t, b.PutResult(ctx, "run-1", "web-1", byRef))
	whole := realisticResult("run-1", "web-10") // its own phases win over the stored ones
	mustDo(t, b.PutResult(ctx, "run-1", "web-10", whole))
	failed := &arcanosv1.RunResult{RunId: "run-1", Host: "db-1",
		Status: arcanosv1.PhaseStatus_PHASE_STATUS_FAILED, Errors: []string{"could not start"}}
	mustDo(t, b.PutResult(ctx, "run-1", "db-1", failed))

	results, err := b.Results(ctx, "run-1")
	mustDo(t, err)
	if len(results) != 3 {
		t.Fatalf("Results = %d, want 3", len(results))
	}
	got := map[string]*arcanosv1.RunResult{}
	for _, r := range results {
		got[r.GetHost()] = r
	}

	want := realisticResult("run-1", "web-1")
	want.Phases = nil
	for _, name := range phaseNames[:3] {
		want.Phases = append(want.Phases, realisticPhase(name))
	}
	requireEqual(t, "web-1 (by reference)", got["web-1"], want)
	requireEqual(t, "web-10 (whole)", got["web-10"], whole)
	requireEqual(t, "db-1 (no phases anywhere)", got["db-1"], failed)
}

func TestAddResultNeverReplacesAStoredResult(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)
	mustDo(t, b.CreateRun(ctx, newRun("run-1", t0)))

	first := realisticResult("run-1", "web-1")
	added, err := b.AddResult(ctx, "run-1", "web-1", first)
	if err != nil || !added {
		t.Fatalf("AddResult of the first result: %v %v, want added", added, err)
	}
	other := &arcanosv1.RunResult{RunId: "run-1", Host: "web-1", Status: arcanosv1.PhaseStatus_PHASE_STATUS_FAILED}
	if added, err := b.AddResult(ctx, "run-1", "web-1", other); err != nil || added {
		t.Fatalf("AddResult over a stored result: %v %v, want not added", added, err)
	}
	results, err := b.Results(ctx, "run-1")
	mustDo(t, err)
	requireEqual(t, "the stored result", results[0], first)

	if _, err := b.AddResult(ctx, "ghost", "web-1", first); !errors.Is(err, ErrNotFound) {
		t.Errorf("AddResult to an unknown run: %v, want ErrNotFound", err)
	}
}
