package store

import (
	"context"
	"errors"
	"fmt"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
	bolt "go.etcd.io/bbolt"
)

// checkRun rejects a run that cannot be stored and indexed.
func checkRun(r *arcanosv1.Run) error {
	if err := checkID("run id", r.GetRunId()); err != nil {
		return err
	}
	if r.GetStartedAt() == nil {
		return fmt.Errorf("run %s has no started_at", r.GetRunId())
	}
	return nil
}

// CreateRun stores a new run and its runs_by_time index entry.
func (b *Bolt) CreateRun(ctx context.Context, r *arcanosv1.Run) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("create run: %w", err)
	}
	if err := checkRun(r); err != nil {
		return fmt.Errorf("create run: %w", err)
	}

	id := r.GetRunId()
	val, err := marshal("run "+id, r)
	if err != nil {
		return err
	}

	err = b.update(func(tx *bolt.Tx) error {
		runs := tx.Bucket(bucketRuns)
		if runs.Get([]byte(id)) != nil {
			return errors.New("run id already stored")
		}
		if err := runs.Put([]byte(id), val); err != nil {
			return err
		}
		return tx.Bucket(bucketRunsByTime).Put(runTimeKey(r.GetStartedAt().AsTime(), id), nil)
	})
	if err != nil {
		return fmt.Errorf("create run %s: %w", id, err)
	}
	return nil
}

// UpdateRun replaces a stored run, moving its index entry when its start
// time changed. Updates share commits through Batch.
func (b *Bolt) UpdateRun(ctx context.Context, r *arcanosv1.Run) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("update run: %w", err)
	}
	if err := checkRun(r); err != nil {
		return fmt.Errorf("update run: %w", err)
	}

	id := r.GetRunId()
	val, err := marshal("run "+id, r)
	if err != nil {
		return err
	}
	newKey := runTimeKey(r.GetStartedAt().AsTime(), id)

	err = b.batch(func(tx *bolt.Tx) error {
		runs := tx.Bucket(bucketRuns)
		old := runs.Get([]byte(id))
		if old == nil {
			return ErrNotFound
		}

		prev := &arcanosv1.Run{}
		if err := unmarshal("run "+id, old, prev); err != nil {
			return err
		}
		index := tx.Bucket(bucketRunsByTime)
		if oldKey := runTimeKey(prev.GetStartedAt().AsTime(), id); string(oldKey) != string(newKey) {
			if err := index.Delete(oldKey); err != nil {
				return err
			}
			if err := index.Put(newKey, nil); err != nil {
				return err
			}
		}
		return runs.Put([]byte(id), val)
	})
	if err != nil {
		return fmt.Errorf("update run %s: %w", id, err)
	}
	return nil
}

// GetRun returns the run stored under runID, or ErrNotFound.
func (b *Bolt) GetRun(ctx context.Context, runID string) (*arcanosv1.Run, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get run %s: %w", runID, err)
	}

	r := &arcanosv1.Run{}
	err := b.view(func(tx *bolt.Tx) error {
		val := tx.Bucket(bucketRuns).Get([]byte(runID))
		if val == nil {
			return ErrNotFound
		}
		return unmarshal("run "+runID, val, r)
	})
	if err != nil {
		return nil, fmt.Errorf("get run %s: %w", runID, err)
	}
	return r, nil
}

// ListRuns walks runs_by_time from its newest end, so it reads only the
// runs it returns.
func (b *Bolt) ListRuns(ctx context.Context, limit int) ([]*arcanosv1.Run, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}

	list := []*arcanosv1.Run{}
	err := b.view(func(tx *bolt.Tx) error {
		runs := tx.Bucket(bucketRuns)
		c := tx.Bucket(bucketRunsByTime).Cursor()
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			if limit > 0 && len(list) >= limit {
				break
			}

			id := runTimeKeyID(k)
			val := runs.Get([]byte(id))
			if val == nil {
				return fmt.Errorf("index names run %s, which is not stored", id)
			}
			r := &arcanosv1.Run{}
			if err := unmarshal("run "+id, val, r); err != nil {
				return err
			}
			list = append(list, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return list, nil
}

// requireRun returns ErrNotFound when runID is not a stored run.
func requireRun(tx *bolt.Tx, runID string) error {
	if tx.Bucket(bucketRuns).Get([]byte(runID)) == nil {
		return fmt.Errorf("run %w", ErrNotFound)
	}
	return nil
}
