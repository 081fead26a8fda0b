package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestOpenCreatesFileOwnerOnly(t *testing.T) {
	_, path := openTestStore(t)

	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("store file mode = %o, want 600", mode)
	}
	dir, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if mode := dir.Mode().Perm(); mode != 0o700 {
		t.Errorf("store dir mode = %o, want 700", mode)
	}
}

func TestSecondControllerOnSameFileFailsFast(t *testing.T) {
	_, path := openTestStore(t)

	second, err := OpenBolt(path, BoltOptions{Timeout: 100 * time.Millisecond, Logger: quiet})
	if err == nil {
		_ = second.Close()
		t.Fatal("second OpenBolt on a held file succeeded")
	}
	if !strings.Contains(err.Error(), "data dir in use by another controller") {
		t.Errorf("error = %q, want it to say the data dir is in use", err)
	}
	if !errors.Is(err, bolterrors.ErrTimeout) {
		t.Errorf("error = %v, want it to wrap bbolt's ErrTimeout", err)
	}
}

func TestReopenAfterCloseKeepsEverything(t *testing.T) {
	ctx := t.Context()
	b, path := openTestStore(t)

	host := &arcanosv1.Host{HostId: "web-1", Hostname: "web-1", Online: true,
		Labels: map[string]string{"role": "web"}, LastSeen: timestamppb.New(t0), AgentVersion: "0.3.0"}
	run := newRun("run-1", t0)
	phase := realisticPhase("detect")
	result := realisticResult("run-1", "web-1")
	event := &arcanosv1.PurgeEvent{RunId: "run-1", Host: "web-1",
		State: arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED, Result: result, At: timestamppb.New(t0)}

	mustDo(t, b.PutHost(ctx, host))
	mustDo(t, b.CreateRun(ctx, run))
	mustDo(t, b.PutPhase(ctx, "run-1", "web-1", 1, phase))
	mustDo(t, b.PutResult(ctx, "run-1", "web-1", result))
	mustDo(t, b.AppendEvent(ctx, event))
	allow, err := b.SetAllowlist(ctx, []byte(`{"processes":[]}`), 0, "admin", "first")
	mustDo(t, err)
	mustDo(t, b.PutToken(ctx, Token{Hash: "used", ExpiresAt: t0.Add(time.Hour)}))
	mustDo(t, b.PutToken(ctx, Token{Hash: "fresh", Hostname: "db-1", ExpiresAt: t0.Add(time.Hour)}))
	_, err = b.ConsumeToken(ctx, "used", "web-1", t0)
	mustDo(t, err)
	mustDo(t, b.Close())

	// A restarted controller opens the same file.
	b = openAt(t, path)

	gotHost, err := b.GetHost(ctx, "web-1")
	mustDo(t, err)
	requireEqual(t, "host", gotHost, host)

	gotRun, err := b.GetRun(ctx, "run-1")
	mustDo(t, err)
	requireEqual(t, "run", gotRun, run)

	runs, err := b.ListRuns(ctx, 0)
	mustDo(t, err)
	if len(runs) != 1 {
		t.Fatalf("ListRuns after reopen: %d runs, want 1", len(runs))
	}

	phases, err := b.Phases(ctx, "run-1", "web-1")
	mustDo(t, err)
	if len(phases) != 1 {
		t.Fatalf("Phases after reopen: %d, want 1", len(phases))
	}
	requireEqual(t, "phase", phases[0], phase)

	results, err := b.Results(ctx, "run-1")
	mustDo(t, err)
	if len(results) != 1 {
		t.Fatalf("Results after reopen: %d, want 1", len(results))
	}
	requireEqual(t, "result", results[0], result)

	events, err := b.Events(ctx, "run-1")
	mustDo(t, err)
	if len(events) != 1 {
		t.Fatalf("Events after reopen: %d, want 1", len(events))
	}
	requireEqual(t, "event", events[0], event)

	cur, err := b.CurrentAllowlist(ctx)
	mustDo(t, err)
	requireEqual(t, "allowlist", cur, allow)

	if _, err := b.ConsumeToken(ctx, "used", "web-2", t0); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("token used before the restart: ConsumeToken error = %v, want ErrTokenInvalid", err)
	}
	if _, err := b.ConsumeToken(ctx, "fresh", "db-1", t0); err != nil {
		t.Errorf("token unused before the restart: ConsumeToken error = %v", err)
	}
}

func TestNewStoreHasCurrentSchema(t *testing.T) {
	b, _ := openTestStore(t)

	v, err := b.SchemaVersion()
	mustDo(t, err)
	if v != 1 || currentSchema() != 1 {
		t.Errorf("schema version = %d (current %d), want 1", v, currentSchema())
	}
}

func TestUpgradeStepRunsOnceOnOlderStore(t *testing.T) {
	b, path := openTestStore(t)
	mustDo(t, b.CreateRun(t.Context(), newRun("run-1", t0)))
	mustDo(t, b.Close())

	saved := upgrades
	t.Cleanup(func() { upgrades = saved })
	calls := 0
	upgrades = append(upgrades, func(tx *bolt.Tx) error {
		calls++
		_, err := tx.CreateBucket([]byte("v2_bucket"))
		return err
	})

	b = openAt(t, path)
	v, err := b.SchemaVersion()
	mustDo(t, err)
	if v != 2 || calls != 1 {
		t.Fatalf("after upgrade: schema %d, step ran %d times; want 2 and 1", v, calls)
	}
	if _, err := b.GetRun(t.Context(), "run-1"); err != nil {
		t.Errorf("run stored before the upgrade: %v", err)
	}
	mustDo(t, b.Close())

	_ = openAt(t, path)
	if calls != 1 {
		t.Errorf("upgrade step ran again on an upgraded store (%d calls)", calls)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	b, path := openTestStore(t)
	err := b.db.Update(func(tx *bolt.Tx) error { return putSchemaVersion(tx, 99) })
	mustDo(t, err)
	mustDo(t, b.Close())

	_, err = OpenBolt(path, BoltOptions{Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("OpenBolt of a schema 99 store: error = %v, want one saying it is newer", err)
	}
}

func TestOpenRefusesForeignBoltFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	db, err := bolt.Open(path, 0o600, nil)
	mustDo(t, err)
	mustDo(t, db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("someone_else"))
		return err
	}))
	mustDo(t, db.Close())

	_, err = OpenBolt(path, BoltOptions{Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), "no arcanos schema") {
		t.Fatalf("OpenBolt of a foreign bbolt file: error = %v, want a refusal", err)
	}
}

func mustDo(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// fillStore writes about 2 MiB of filler in many pages and closes the
// store, returning its path and the size its pages take (tx.Size; the file
// itself is larger, grown ahead).
func fillStore(t *testing.T) (string, int64) {
	t.Helper()
	b, path := openTestStore(t)
	mustDo(t, b.db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists([]byte("filler"))
		if err != nil {
			return err
		}
		for i := range 20000 {
			if err := bk.Put(fmt.Appendf(nil, "key-%06d", i), make([]byte, 100)); err != nil {
				return err
			}
		}
		return nil
	}))
	var size int64
	mustDo(t, b.db.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil }))
	mustDo(t, b.Close())
	return path, size
}

// A store file cut short (a full disk, an interrupted copy) must give an
// error that says what to do at open, never a panic or a fault, at any
// length (a fresh reviewer crashed the controller at 8,192 bytes and at
// about half, and made it start at 0 bytes with an empty history).
func TestOpenRefusesATruncatedFileAtAnyLength(t *testing.T) {
	path, size := fillStore(t)
	orig, err := os.ReadFile(path)
	mustDo(t, err)
	for _, n := range []int64{0, 100, 4096, 8192, 16384, size / 4, size / 2, size - 4096} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			cut := filepath.Join(t.TempDir(), "arcanos.db")
			mustDo(t, os.WriteFile(cut, orig[:n], 0o600))
			b, err := OpenBolt(cut, BoltOptions{Logger: quiet})
			if err == nil {
				_ = b.Close()
				t.Fatalf("OpenBolt of the file cut to %d of %d bytes: no error", n, size)
			}
			if !errors.Is(err, errDamaged) {
				t.Errorf("OpenBolt of the file cut to %d bytes: %v, want it called damaged", n, err)
			}
		})
	}
}

// A file cut short while the controller has it open faults when a page past
// its new end is read; the read returns an error instead of ending the
// process.
func TestReadOfAFileCutShortWhileOpenIsAnError(t *testing.T) {
	path, _ := fillStore(t)
	b := openAt(t, path)
	mustDo(t, os.Truncate(path, 8192))
	err := b.view(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("filler")).ForEach(func(_, _ []byte) error { return nil })
	})
	if !errors.Is(err, errDamaged) {
		t.Fatalf("reading pages past the end: %v, want the damaged-file error", err)
	}
}

// Damage met inside bbolt's own transaction start (the file cut to 0 bytes
// while open) leaves its locks held: the call that met it fails, and so
// does every later call, at once, instead of hanging (a third reviewer's
// case: every later runs list hung, and so did the controller's stop).
func TestStoreBrokenByDamageFailsFastAfterwards(t *testing.T) {
	path, _ := fillStore(t)
	b, err := OpenBolt(path, BoltOptions{Logger: quiet})
	mustDo(t, err)
	mustDo(t, os.Truncate(path, 0))

	for i := range 3 {
		done := make(chan error, 1)
		go func() { _, err := b.ListRuns(t.Context(), 0); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, errDamaged) {
				t.Fatalf("call %d after the damage: %v, want the damaged-file error", i+1, err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("call %d after the damage hung", i+1)
		}
	}
	if err := b.Close(); err == nil {
		t.Error("Close of a store broken by damage: nil, want an error saying so")
	}
}
