package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
	bolt "go.etcd.io/bbolt"
)

// AppendEvent stores e under (run, next sequence of the events bucket), so
// a run's events read back in append order. It is a one-event AppendEvents;
// durable on return.
func (b *Bolt) AppendEvent(ctx context.Context, e *arcanosv1.PurgeEvent) error {
	what := fmt.Sprintf("append %s event of %s in run %s", e.GetState(), e.GetHost(), e.GetRunId())
	if err := checkID("run id", e.GetRunId()); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return b.appendEvents(ctx, what, []*arcanosv1.PurgeEvent{e})
}

// AppendEvents stores events with one commit, in slice order, each under
// the next sequence of the events bucket, so a run's events read back in
// append order across calls and within one. Events of several runs may
// share a call. An event that cannot be stored (its run is unknown, its
// run id invalid) is skipped and the others are stored; the error then
// names what was skipped, and wraps ErrNotFound when a run was unknown.
// An empty slice stores nothing. Durable on return.
func (b *Bolt) AppendEvents(ctx context.Context, events []*arcanosv1.PurgeEvent) error {
	return b.appendEvents(ctx, fmt.Sprintf("append %d events", len(events)), events)
}

// appendEvents is AppendEvents with what, the phrase its errors start with.
func (b *Bolt) appendEvents(
	ctx context.Context, what string, events []*arcanosv1.PurgeEvent,
) error {
	if len(events) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}

	// Encoded outside the transaction so that it, and a retried batch,
	// stays short. A nil value marks an event that cannot be stored.
	vals := make([][]byte, len(events))
	var bad []error
	for i, e := range events {
		if err := checkID("run id", e.GetRunId()); err != nil {
			bad = append(bad, fmt.Errorf("event %d (host %s): %w", i, e.GetHost(), err))
			continue
		}
		val, err := marshal(fmt.Sprintf("event %d (host %s, run %s)", i, e.GetHost(), e.GetRunId()), e)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		vals[i] = val
	}

	// Sequences are taken inside the transaction: a batch that is rolled
	// back and retried takes them again, so no number is used twice. For
	// the same reason what a run of the function found is reset each time.
	var missing []string
	var skipped int
	err := b.batch(func(tx *bolt.Tx) error {
		missing, skipped = missing[:0], 0
		runs, bucket := tx.Bucket(bucketRuns), tx.Bucket(bucketEvents)
		known := map[string]bool{}
		for i, e := range events {
			if vals[i] == nil {
				continue
			}
			runID := e.GetRunId()
			found, seen := known[runID]
			if !seen {
				found = runs.Get([]byte(runID)) != nil
				known[runID] = found
				if !found {
					missing = append(missing, runID)
				}
			}
			if !found {
				skipped++
				continue
			}
			seq, err := bucket.NextSequence()
			if err != nil {
				return err
			}
			if err := bucket.Put(eventKey(runID, seq), vals[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}

	if len(missing) > 0 {
		bad = append(bad, fmt.Errorf("%d not stored, %s %s: %w",
			skipped, plural(len(missing), "run", "runs"), strings.Join(missing, ", "), ErrNotFound))
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s: %w", what, errors.Join(bad...))
	}
	return nil
}

// plural returns one when n is 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Events scans the run's prefix of the events bucket.
func (b *Bolt) Events(ctx context.Context, runID string) ([]*arcanosv1.PurgeEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("events of run %s: %w", runID, err)
	}

	list := []*arcanosv1.PurgeEvent{}
	err := b.view(func(tx *bolt.Tx) error {
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
