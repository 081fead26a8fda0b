package store

import (
	"context"
	"fmt"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
	bolt "go.etcd.io/bbolt"
)

// PutPhase stores one phase result under (run, host, seq). Agents report
// phases at once across the fleet, so the write goes through Batch; Batch
// returns after the shared commit, so the phase is durable on return.
func (b *Bolt) PutPhase(ctx context.Context, runID, host string, seq int32, p *arcanosv1.PhaseResult) error {
	what := fmt.Sprintf("put phase %d of %s in run %s", seq, host, runID)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := checkResultKey(runID, host); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if seq < 0 {
		return fmt.Errorf("%s: negative seq", what)
	}

	val, err := marshal(what, p)
	if err != nil {
		return err
	}
	key := phaseKey(runID, host, seq)

	err = b.batch(func(tx *bolt.Tx) error {
		if err := requireRun(tx, runID); err != nil {
			return err
		}
		return tx.Bucket(bucketPhases).Put(key, val)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// PutResult stores host's final result of a run through Batch; durable on
// return.
func (b *Bolt) PutResult(ctx context.Context, runID, host string, r *arcanosv1.RunResult) error {
	what := fmt.Sprintf("put result of %s in run %s", host, runID)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := checkResultKey(runID, host); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}

	val, err := marshal(what, r)
	if err != nil {
		return err
	}
	key := resultKey(runID, host)

	err = b.batch(func(tx *bolt.Tx) error {
		if err := requireRun(tx, runID); err != nil {
			return err
		}
		return tx.Bucket(bucketResults).Put(key, val)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// AddResult is PutResult when no result of host is stored yet.
func (b *Bolt) AddResult(ctx context.Context, runID, host string, r *arcanosv1.RunResult) (bool, error) {
	what := fmt.Sprintf("add result of %s in run %s", host, runID)
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	if err := checkResultKey(runID, host); err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	val, err := marshal(what, r)
	if err != nil {
		return false, err
	}
	key := resultKey(runID, host)
	var added bool
	err = b.batch(func(tx *bolt.Tx) error {
		added = false // a retried batch function starts again
		if err := requireRun(tx, runID); err != nil {
			return err
		}
		bk := tx.Bucket(bucketResults)
		if bk.Get(key) != nil {
			return nil
		}
		added = true
		return bk.Put(key, val)
	})
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return added, nil
}

// Results scans the run's prefix of the results bucket. A result stored
// without phases (its agent sent them by reference) gets the host's stored
// phases, in seq order.
//
// LIMITATION: every host's full result is decoded into memory at once; at
// ~20 KB a result, a 10,000-host run is ~200 MB. A paged or streaming read
// is needed before runs that large are shown whole.
func (b *Bolt) Results(ctx context.Context, runID string) ([]*arcanosv1.RunResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("results of run %s: %w", runID, err)
	}

	list := []*arcanosv1.RunResult{}
	err := b.view(func(tx *bolt.Tx) error {
		if err := requireRun(tx, runID); err != nil {
			return err
		}
		prefix := runPrefix(runID)
		return scanPrefix(tx.Bucket(bucketResults), prefix, func(k, v []byte) error {
			r := &arcanosv1.RunResult{}
			if err := unmarshal("result "+string(k), v, r); err != nil {
				return err
			}
			if len(r.Phases) == 0 {
				host := string(k[len(prefix):])
				phases, err := phasesOf(tx, runID, host)
				if err != nil {
					return err
				}
				r.Phases = phases
			}
			list = append(list, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("results of run %s: %w", runID, err)
	}
	return list, nil
}

// Phases scans the (run, host) prefix of the phases bucket, in seq order.
func (b *Bolt) Phases(ctx context.Context, runID, host string) ([]*arcanosv1.PhaseResult, error) {
	what := fmt.Sprintf("phases of %s in run %s", host, runID)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := checkResultKey(runID, host); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}

	list := []*arcanosv1.PhaseResult{}
	err := b.view(func(tx *bolt.Tx) error {
		if err := requireRun(tx, runID); err != nil {
			return err
		}
		var err error
		list, err = phasesOf(tx, runID, host)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return list, nil
}

// PhaseSeqs scans the (run, host) prefix of the phases bucket, keys only.
func (b *Bolt) PhaseSeqs(ctx context.Context, runID, host string) ([]int32, error) {
	what := fmt.Sprintf("phase seqs of %s in run %s", host, runID)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := checkResultKey(runID, host); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	seqs := []int32{}
	err := b.view(func(tx *bolt.Tx) error {
		if err := requireRun(tx, runID); err != nil {
			return err
		}
		return scanPrefix(tx.Bucket(bucketPhases), phasePrefix(runID, host), func(k, _ []byte) error {
			seqs = append(seqs, int32(seqOf(k)))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return seqs, nil
}

// phasesOf reads host's stored phases of a run in seq order.
func phasesOf(tx *bolt.Tx, runID, host string) ([]*arcanosv1.PhaseResult, error) {
	list := []*arcanosv1.PhaseResult{}
	err := scanPrefix(tx.Bucket(bucketPhases), phasePrefix(runID, host), func(k, v []byte) error {
		p := &arcanosv1.PhaseResult{}
		if err := unmarshal(fmt.Sprintf("phase %d of %s", seqOf(k), host), v, p); err != nil {
			return err
		}
		list = append(list, p)
		return nil
	})
	return list, err
}

func checkResultKey(runID, host string) error {
	if err := checkID("run id", runID); err != nil {
		return err
	}
	return checkID("host", host)
}
