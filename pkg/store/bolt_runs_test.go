package store

import (
	"errors"
	"fmt"
	"testing"
	"time"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestRunCreateGetUpdate(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)

	run := newRun("run-1", t0)
	mustDo(t, b.CreateRun(ctx, run))
	got, err := b.GetRun(ctx, "run-1")
	mustDo(t, err)
	requireEqual(t, "created run", got, run)

	if err := b.CreateRun(ctx, newRun("run-1", t0.Add(time.Hour))); err == nil {
		t.Error("CreateRun with a stored run id succeeded")
	}

	run.FinishedAt = timestamppb.New(t0.Add(time.Minute))
	run.Hosts["web-1"] = arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED
	run.Hosts["web-2"] = arcanosv1.HostRunState_HOST_RUN_STATE_OFFLINE
	run.Detail = "1 finished, 1 offline"
	mustDo(t, b.UpdateRun(ctx, run))
	got, err = b.GetRun(ctx, "run-1")
	mustDo(t, err)
	requireEqual(t, "updated run", got, run)
}

func TestRunErrors(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)

	tests := []struct {
		name    string
		call    func() error
		notFind bool
	}{
		{"get unknown run", func() error { _, err := b.GetRun(ctx, "nope"); return err }, true},
		{"update unknown run", func() error { return b.UpdateRun(ctx, newRun("nope", t0)) }, true},
		{"create without started_at", func() error {
			return b.CreateRun(ctx, &arcanosv1.Run{RunId: "r"})
		}, false},
		{"create without id", func() error { return b.CreateRun(ctx, newRun("", t0)) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, ErrNotFound); got != tt.notFind {
				t.Errorf("error = %v; is ErrNotFound = %v, want %v", err, got, tt.notFind)
			}
		})
	}
}

func TestListRunsNewestFirstWithLimit(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)

	// Created out of time order: the index, not insertion, decides.
	for _, h := range []int{5, 1, 9, 3, 7, 0, 8, 2, 6, 4} {
		mustDo(t, b.CreateRun(ctx, newRun(fmt.Sprintf("run-%d", h), t0.Add(time.Duration(h)*time.Hour))))
	}

	tests := []struct {
		limit int
		want  []string
	}{
		{3, []string{"run-9", "run-8", "run-7"}},
		{1, []string{"run-9"}},
		{0, []string{"run-9", "run-8", "run-7", "run-6", "run-5", "run-4", "run-3", "run-2", "run-1", "run-0"}},
		{50, []string{"run-9", "run-8", "run-7", "run-6", "run-5", "run-4", "run-3", "run-2", "run-1", "run-0"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("limit %d", tt.limit), func(t *testing.T) {
			runs, err := b.ListRuns(ctx, tt.limit)
			mustDo(t, err)
			if got := runIDs(runs); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("ListRuns(%d) = %v, want %v", tt.limit, got, tt.want)
			}
		})
	}
}

// TestListRunsReadsOnlyTheRunsItReturns proves the index is used: an old
// run whose stored value is unreadable does not disturb ListRuns(limit),
// while a full listing does reach it.
func TestListRunsReadsOnlyTheRunsItReturns(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)
	for i := range 5 {
		mustDo(t, b.CreateRun(ctx, newRun(fmt.Sprintf("run-%d", i), t0.Add(time.Duration(i)*time.Hour))))
	}
	mustDo(t, b.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRuns).Put([]byte("run-0"), []byte{0xff, 0xff, 0xff})
	}))

	runs, err := b.ListRuns(ctx, 4)
	mustDo(t, err)
	if len(runs) != 4 {
		t.Fatalf("ListRuns(4) = %d runs, want 4", len(runs))
	}
	if _, err := b.ListRuns(ctx, 0); err == nil {
		t.Fatal("ListRuns(0) read past the corrupt oldest run without error; the test proves nothing")
	}
}

func TestUpdateRunWithNewStartTimeMovesItInTheIndex(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)
	mustDo(t, b.CreateRun(ctx, newRun("early", t0)))
	mustDo(t, b.CreateRun(ctx, newRun("late", t0.Add(time.Hour))))

	mustDo(t, b.UpdateRun(ctx, newRun("early", t0.Add(2*time.Hour))))

	runs, err := b.ListRuns(ctx, 0)
	mustDo(t, err)
	if got := runIDs(runs); fmt.Sprint(got) != "[early late]" {
		t.Errorf("ListRuns after moving early's start = %v, want [early late]", got)
	}
}

func runIDs(runs []*arcanosv1.Run) []string {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.GetRunId()
	}
	return ids
}
