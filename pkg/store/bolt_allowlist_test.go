package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestAllowlistVersionsAndHistory(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)

	if _, err := b.CurrentAllowlist(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("CurrentAllowlist of a new store: error = %v, want ErrNotFound", err)
	}

	v1, err := b.SetAllowlist(ctx, []byte(`{"v":1}`), 0, "alice", "first")
	mustDo(t, err)
	if v1.GetVersion() != 1 || v1.GetChangedBy() != "alice" || v1.GetComment() != "first" ||
		v1.GetChangedAt() == nil {
		t.Fatalf("first version = %v, want version 1 by alice with a time", v1)
	}

	v2, err := b.SetAllowlist(ctx, []byte(`{"v":2}`), 1, "bob", "second")
	mustDo(t, err)
	if v2.GetVersion() != 2 {
		t.Fatalf("second version = %d, want 2", v2.GetVersion())
	}

	cur, err := b.CurrentAllowlist(ctx)
	mustDo(t, err)
	requireEqual(t, "current allowlist", cur, v2)

	tests := []struct {
		limit int
		want  []int64
	}{{0, []int64{2, 1}}, {1, []int64{2}}, {5, []int64{2, 1}}}
	for _, tt := range tests {
		hist, err := b.AllowlistHistory(ctx, tt.limit)
		mustDo(t, err)
		var got []int64
		for _, v := range hist {
			got = append(got, v.GetVersion())
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("AllowlistHistory(%d) = %v, want %v", tt.limit, got, tt.want)
		}
	}
	hist, err := b.AllowlistHistory(ctx, 0)
	mustDo(t, err)
	requireEqual(t, "oldest version in history", hist[1], v1)
}

func TestSetAllowlistWithStaleVersionConflicts(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)
	_, err := b.SetAllowlist(ctx, []byte(`{"v":1}`), 0, "alice", "")
	mustDo(t, err)

	for _, expected := range []int64{0, 2, -1} {
		_, err := b.SetAllowlist(ctx, []byte(`{"stale":true}`), expected, "bob", "")
		if !errors.Is(err, ErrVersionConflict) {
			t.Errorf("SetAllowlist expecting %d: error = %v, want ErrVersionConflict", expected, err)
		}
	}

	cur, err := b.CurrentAllowlist(ctx)
	mustDo(t, err)
	if cur.GetVersion() != 1 || string(cur.GetDocument()) != `{"v":1}` {
		t.Errorf("after conflicts current = v%d %s, want v1 unchanged", cur.GetVersion(), cur.GetDocument())
	}
}

func TestConcurrentSetAllowlistExactlyOneWins(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)

	const n = 10
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := b.SetAllowlist(ctx, fmt.Appendf(nil, `{"writer":%d}`, i), 0, "op", "")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)

	wins := 0
	for err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, ErrVersionConflict):
			t.Errorf("loser error = %v, want ErrVersionConflict", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d writers won the compare-and-set of version 0, want 1", wins)
	}
	hist, err := b.AllowlistHistory(ctx, 0)
	mustDo(t, err)
	if len(hist) != 1 {
		t.Errorf("history holds %d versions, want 1", len(hist))
	}
}
