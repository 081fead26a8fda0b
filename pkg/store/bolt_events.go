package store

import (
	"context"
	"fmt"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
	bolt "go.etcd.io/bbolt"
)

// AppendEvent stores e under (run, next sequence of the events bucket), so
// a run's events read back in append order. Events of every run share
// commits through Batch; durable on return.
func (b *Bolt) AppendEvent(ctx context.Context, e *arcanosv1.PurgeEvent) error {
	runID := e.GetRunId()
	what := fmt.Sprintf("append %s event of %s in run %s", e.GetState(), e.GetHost(), runID)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := checkID("run id", runID); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}

	val, err := marshal(what, e)
	if err != nil {
		return err
	}

	// The sequence is taken inside the transaction: a batch that is rolled
	// back and retried takes it again, so no number is used twice.
	err = b.db.Batch(func(tx *bolt.Tx) error {
		if err := requireRun(tx, runID); err != nil {
			return err
		}
		events := tx.Bucket(bucketEvents)
		seq, err := events.NextSequence()
		if err != nil {
			return err
		}
		return events.Put(eventKey(runID, seq), val)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// Events scans the run's prefix of the events bucket.
func (b *Bolt) Events(ctx context.Context, runID string) ([]*arcanosv1.PurgeEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("events of run %s: %w", runID, err)
	}

	list := []*arcanosv1.PurgeEvent{}
	err := b.db.View(func(tx *bolt.Tx) error {
		if err := requireRun(tx, runID); err != nil {
			return err
		}
		return scanPrefix(tx.Bucket(bucketEvents), runPrefix(runID), func(_, v []byte) error {
			e := &arcanosv1.PurgeEvent{}
			if err := unmarshal("event", v, e); err != nil {
				return err
			}
			list = append(list, e)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("events of run %s: %w", runID, err)
	}
	return list, nil
}
