package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
	bolt "go.etcd.io/bbolt"
)

// pruneChunk is how many runs one prune transaction deletes: enough to
// share commits, few enough that one transaction stays small when runs have
// thousands of hosts.
const pruneChunk = 32

// victim is a run chosen for deletion and its runs_by_time key.
type victim struct {
	id       string
	indexKey []byte
}

// Prune walks runs_by_time from the newest run. The first run that is past
// maxRuns or older than the cutoff marks the boundary: it and every older
// run go. So Prune reads the kept runs' index keys once and nothing else of
// theirs. Deletion runs in chunks, checking ctx between chunks.
//
// LIMITATION: bbolt reuses freed pages but never shrinks its file, so the
// file keeps its high-water size after a prune; shrinking it needs an
// offline `bbolt compact` while the controller is stopped.
func (b *Bolt) Prune(ctx context.Context, maxAge time.Duration, maxRuns int, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("prune store: %w", err)
	}
	if maxAge <= 0 && maxRuns <= 0 {
		return 0, nil
	}
	start := time.Now()
	cutoff := now.Add(-maxAge)

	victims, err := b.pruneVictims(maxAge, maxRuns, cutoff)
	if err != nil {
		return 0, fmt.Errorf("prune store: %w", err)
	}

	deleted := 0
	for len(victims) > 0 {
		if err := ctx.Err(); err != nil {
			return deleted, fmt.Errorf("prune store after %d runs: %w", deleted, err)
		}

		chunk := victims[:min(pruneChunk, len(victims))]
		victims = victims[len(chunk):]

		err := b.update(func(tx *bolt.Tx) error {
			for _, v := range chunk {
				// audit: deletes a run's stored history (run, results, phases, events) from the
				// controller's store, not from any host; guard: retention maxAge/maxRuns > 0 and
				// only runs past them, chosen by pruneVictims.
				if err := deleteRun(tx, v); err != nil {
					return fmt.Errorf("delete run %s: %w", v.id, err)
				}
			}
			return nil
		})
		if err != nil {
			return deleted, fmt.Errorf("prune store after %d runs: %w", deleted, err)
		}
		deleted += len(chunk)
	}

	tokens := 0
	if maxAge > 0 {
		if tokens, err = b.pruneTokens(cutoff); err != nil {
			return deleted, fmt.Errorf("prune store: %w", err)
		}
	}

	b.log.Info("store pruned", "runs", deleted, "tokens", tokens,
		"max_age", maxAge, "max_runs", maxRuns, "duration", time.Since(start))
	return deleted, nil
}

// pruneVictims lists, newest first, the runs past maxRuns or started before
// cutoff.
func (b *Bolt) pruneVictims(maxAge time.Duration, maxRuns int, cutoff time.Time) ([]victim, error) {
	var victims []victim
	err := b.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRunsByTime).Cursor()
		kept := 0
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			tooMany := maxRuns > 0 && kept >= maxRuns
			tooOld := maxAge > 0 && keyTime(k).Before(cutoff)
			if len(victims) == 0 && !tooMany && !tooOld {
				kept++
				continue
			}
			victims = append(victims, victim{id: runTimeKeyID(k), indexKey: append([]byte(nil), k...)})
		}
		return nil
	})
	return victims, err
}

// deleteRun deletes a run, its index entry and every result, phase and
// event stored under its prefix.
func deleteRun(tx *bolt.Tx, v victim) error {
	runs := tx.Bucket(bucketRuns)
	index := tx.Bucket(bucketRunsByTime)

	// The run may have been updated since it was chosen: drop the index key
	// of its stored start time as well as the one that was seen.
	if val := runs.Get([]byte(v.id)); val != nil {
		r := &arcanosv1.Run{}
		if err := unmarshal("run "+v.id, val, r); err != nil {
			return err
		}
		if err := index.Delete(runTimeKey(r.GetStartedAt().AsTime(), v.id)); err != nil {
			return err
		}
	}
	if err := index.Delete(v.indexKey); err != nil {
		return err
	}
	if err := runs.Delete([]byte(v.id)); err != nil {
		return err
	}

	for _, name := range [][]byte{bucketResults, bucketPhases, bucketEvents} {
		if _, err := deletePrefix(tx.Bucket(name), runPrefix(v.id)); err != nil {
			return fmt.Errorf("delete %s: %w", name, err)
		}
	}
	return nil
}

// pruneTokens deletes tokens that expired before cutoff, used or not: they
// can never enroll a host again.
func (b *Bolt) pruneTokens(cutoff time.Time) (int, error) {
	deleted := 0
	err := b.update(func(tx *bolt.Tx) error {
		tokens := tx.Bucket(bucketTokens)
		var stale [][]byte
		err := tokens.ForEach(func(k, v []byte) error {
			t, err := decodeToken(v)
			if err != nil {
				return err
			}
			if t.ExpiresAt.Before(cutoff) {
				stale = append(stale, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}

		for _, k := range stale {
			if err := tokens.Delete(k); err != nil {
				return err
			}
		}
		deleted = len(stale)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune tokens: %w", err)
	}
	return deleted, nil
}

// keyTime returns the start time encoded in a runs_by_time key.
func keyTime(k []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(k[:8])^(1<<63)))
}
