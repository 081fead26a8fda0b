package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

const day = 24 * time.Hour

// fillRun stores a run started at startedAt with two hosts' phases and
// results and three events, written concurrently as agents would.
func fillRun(tb testing.TB, b *Bolt, id string, startedAt time.Time) {
	tb.Helper()
	ctx := tb.Context()
	mustDo(tb, b.CreateRun(ctx, newRun(id, startedAt)))

	writes := []func() error{
		func() error { return b.AppendEvent(ctx, &arcanosv1.PurgeEvent{RunId: id, Host: "web-1"}) },
		func() error { return b.AppendEvent(ctx, &arcanosv1.PurgeEvent{RunId: id, Host: "web-2"}) },
		func() error { return b.AppendEvent(ctx, &arcanosv1.PurgeEvent{RunId: id, Host: "web-1"}) },
	}
	for _, host := range []string{"web-1", "web-2"} {
		writes = append(writes,
			func() error { return b.PutPhase(ctx, id, host, 1, realisticPhase("detect")) },
			func() error { return b.PutPhase(ctx, id, host, 2, realisticPhase("terminate")) },
			func() error { return b.PutResult(ctx, id, host, realisticResult(id, host)) },
		)
	}

	var wg sync.WaitGroup
	errs := make(chan error, len(writes))
	for _, w := range writes {
		wg.Go(func() { errs <- w() })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		mustDo(tb, err)
	}
}

// dataOf counts what is stored under a run: run, index entry, results,
// phases, events.
func dataOf(tb testing.TB, b *Bolt, id string) [5]int {
	tb.Helper()
	var d [5]int
	_, err := b.GetRun(tb.Context(), id)
	switch {
	case err == nil:
		d[0] = 1
	case !errors.Is(err, ErrNotFound):
		tb.Fatal(err)
	}
	runs, err := b.ListRuns(tb.Context(), 0)
	mustDo(tb, err)
	for _, r := range runs {
		if r.GetRunId() == id {
			d[1]++
		}
	}
	d[2] = countPrefix(tb, b, bucketResults, runPrefix(id))
	d[3] = countPrefix(tb, b, bucketPhases, runPrefix(id))
	d[4] = countPrefix(tb, b, bucketEvents, runPrefix(id))
	return d
}

var (
	kept = [5]int{1, 1, 2, 4, 3}
	gone = [5]int{}
)

func TestPrune(t *testing.T) {
	now := t0.Add(30 * day)
	// run-1 and run-10 share a key prefix: pruning one must spare the other.
	ages := map[string]time.Duration{
		"run-1": 20 * day, "run-10": 1 * day, "run-2": 10 * day, "run-3": 5 * day, "run-4": 2 * time.Hour,
	}

	tests := []struct {
		name    string
		maxAge  time.Duration
		maxRuns int
		deleted int
		gone    []string
	}{
		{"by age", 7 * day, 0, 2, []string{"run-1", "run-2"}},
		{"by count", 0, 2, 3, []string{"run-1", "run-2", "run-3"}},
		{"age stricter than count", 3 * day, 4, 3, []string{"run-1", "run-2", "run-3"}},
		{"count stricter than age", 30 * day, 1, 4, []string{"run-1", "run-2", "run-3", "run-10"}},
		{"nothing past either limit", 30 * day, 10, 0, nil},
		{"no limits", 0, 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := openTestStore(t)
			for id, age := range ages {
				fillRun(t, b, id, now.Add(-age))
			}

			n, err := b.Prune(t.Context(), tt.maxAge, tt.maxRuns, now)
			mustDo(t, err)
			if n != tt.deleted {
				t.Errorf("Prune deleted %d runs, want %d", n, tt.deleted)
			}

			for id := range ages {
				want := kept
				for _, g := range tt.gone {
					if g == id {
						want = gone
					}
				}
				if got := dataOf(t, b, id); got != want {
					t.Errorf("%s after prune: [run index results phases events] = %v, want %v", id, got, want)
				}
			}
		})
	}
}

func TestPruneDeletesLongExpiredTokens(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)
	now := t0.Add(30 * day)
	mustDo(t, b.PutToken(ctx, Token{Hash: "old", ExpiresAt: now.Add(-10 * day)}))
	mustDo(t, b.PutToken(ctx, Token{Hash: "recent", ExpiresAt: now.Add(-time.Hour)}))
	mustDo(t, b.PutToken(ctx, Token{Hash: "live", ExpiresAt: now.Add(time.Hour)}))

	_, err := b.Prune(ctx, 7*day, 0, now)
	mustDo(t, err)

	tests := map[string]string{"old": "unknown token", "recent": "expired", "live": ""}
	for hash, reason := range tests {
		_, err := b.ConsumeToken(ctx, hash, "web-1", now)
		switch {
		case reason == "" && err != nil:
			t.Errorf("token %s after prune: %v", hash, err)
		case reason != "" && (err == nil || !strings.Contains(err.Error(), reason)):
			t.Errorf("token %s after prune: error = %v, want %q", hash, err, reason)
		}
	}
}

func TestPruneStopsWhenContextEnds(t *testing.T) {
	b, _ := openTestStore(t)
	fillRun(t, b, "run-1", t0)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.Prune(ctx, day, 0, t0.Add(30*day)); err == nil {
		t.Fatal("Prune with an ended context succeeded")
	}
	if got := dataOf(t, b, "run-1"); got != kept {
		t.Errorf("run-1 after a cancelled prune = %v, want %v", got, kept)
	}
}
