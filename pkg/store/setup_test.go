package store

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// t0 is a fixed clock for runs and tokens in tests.
var t0 = time.Date(2026, 3, 14, 2, 0, 0, 0, time.UTC)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// openTestStore opens a store in a new temp dir and closes it at cleanup.
func openTestStore(tb testing.TB) (*Bolt, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "data", "arcanos.db")
	return openAt(tb, path), path
}

// openAt opens the store at path and closes it at cleanup.
func openAt(tb testing.TB, path string) *Bolt {
	tb.Helper()
	b, err := OpenBolt(path, BoltOptions{Logger: quiet})
	if err != nil {
		tb.Fatalf("OpenBolt(%s): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := b.Close(); err != nil { // a second Close is a no-op
			tb.Errorf("close store: %v", err)
		}
	})
	return b
}

func newRun(id string, startedAt time.Time) *arcanosv1.Run {
	return &arcanosv1.Run{
		RunId:            id,
		StartedBy:        "operator:admin",
		StartedAt:        timestamppb.New(startedAt),
		Selector:         &arcanosv1.Selector{Hosts: "web-*", Labels: map[string]string{"role": "web"}},
		DryRun:           true,
		Phases:           []string{"detect", "terminate"},
		AllowlistVersion: 3,
		Hosts: map[string]arcanosv1.HostRunState{
			"web-1": arcanosv1.HostRunState_HOST_RUN_STATE_QUEUED,
		},
	}
}

var phaseNames = []string{"detect", "terminate", "startup", "caches", "services", "health"}

// realisticPhase is a phase result the size an agent sends: a few dozen
// findings with evidence, some actions, per-source status.
func realisticPhase(name string) *arcanosv1.PhaseResult {
	p := &arcanosv1.PhaseResult{
		Name:     name,
		Status:   arcanosv1.PhaseStatus_PHASE_STATUS_OK,
		Duration: durationpb.New(37 * time.Millisecond),
	}
	for i := range 24 {
		p.Findings = append(p.Findings, &arcanosv1.Finding{
			Kind:    "process",
			Subject: fmt.Sprintf("worker-%d", i),
			Verdict: arcanosv1.Verdict(1 + i%4),
			Reason:  "allowlist entry processes[3] matches exe and user",
			Evidence: map[string]string{
				"pid":  fmt.Sprint(1000 + i),
				"exe":  fmt.Sprintf("/usr/local/bin/worker-%d", i),
				"user": "www-data",
			},
		})
	}
	for i := range 4 {
		p.Actions = append(p.Actions, &arcanosv1.Action{
			Kind:   "signal",
			Target: fmt.Sprintf("pid %d (worker-%d)", 1000+i, i),
			State:  arcanosv1.ActionState(1 + i%3),
			Detail: "dry run: would send SIGTERM, then SIGKILL after 10s",
		})
	}
	for _, src := range []string{"procs", "docker", "pm2", "systemd"} {
		p.Sources = append(p.Sources, &arcanosv1.SourceResult{
			Name: src, Status: arcanosv1.PhaseStatus_PHASE_STATUS_OK,
			Duration: durationpb.New(5 * time.Millisecond), Items: 24,
		})
	}
	return p
}

// realisticResult is a host's full result of a six-phase run.
func realisticResult(runID, host string) *arcanosv1.RunResult {
	r := &arcanosv1.RunResult{
		RunId:           runID,
		Host:            host,
		DryRun:          true,
		StartedAt:       timestamppb.New(t0),
		FinishedAt:      timestamppb.New(t0.Add(2 * time.Second)),
		AllowlistDigest: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		AgentVersion:    "0.3.0",
		Status:          arcanosv1.PhaseStatus_PHASE_STATUS_OK,
		Summary:         &arcanosv1.RunSummary{Authorized: 80, Unauthorized: 40, ActionsPlanned: 24},
	}
	for _, name := range phaseNames {
		r.Phases = append(r.Phases, realisticPhase(name))
	}
	return r
}

// requireEqual fails unless got and want are equal messages.
func requireEqual(tb testing.TB, what string, got, want proto.Message) {
	tb.Helper()
	if !proto.Equal(got, want) {
		tb.Fatalf("%s differs:\n got  %v\n want %v", what, got, want)
	}
}

// countPrefix counts the keys of a bucket under prefix, reading the file
// directly so a test sees what Prune left behind.
func countPrefix(tb testing.TB, b *Bolt, bucket, prefix []byte) int {
	tb.Helper()
	n := 0
	err := b.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("count %s keys: %v", bucket, err)
	}
	return n
}
