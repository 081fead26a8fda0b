package store

import (
	"context"
	"fmt"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
	bolt "go.etcd.io/bbolt"
)

// PutHost stores h under its host id. Heartbeats of many agents share
// commits through Batch.
func (b *Bolt) PutHost(ctx context.Context, h *arcanosv1.Host) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put host: %w", err)
	}
	if err := checkID("host id", h.GetHostId()); err != nil {
		return fmt.Errorf("put host: %w", err)
	}

	val, err := marshal("host "+h.GetHostId(), h)
	if err != nil {
		return err
	}

	err = b.batch(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketHosts).Put([]byte(h.GetHostId()), val)
	})
	if err != nil {
		return fmt.Errorf("put host %s: %w", h.GetHostId(), err)
	}
	return nil
}

// GetHost returns the host stored under hostID, or ErrNotFound.
func (b *Bolt) GetHost(ctx context.Context, hostID string) (*arcanosv1.Host, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get host %s: %w", hostID, err)
	}

	h := &arcanosv1.Host{}
	err := b.view(func(tx *bolt.Tx) error {
		val := tx.Bucket(bucketHosts).Get([]byte(hostID))
		if val == nil {
			return ErrNotFound
		}
		return unmarshal("host "+hostID, val, h)
	})
	if err != nil {
		return nil, fmt.Errorf("get host %s: %w", hostID, err)
	}
	return h, nil
}

// ListHosts returns every stored host ordered by host id.
func (b *Bolt) ListHosts(ctx context.Context) ([]*arcanosv1.Host, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list hosts: %w", err)
	}

	hosts := []*arcanosv1.Host{}
	err := b.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketHosts).ForEach(func(k, v []byte) error {
			h := &arcanosv1.Host{}
			if err := unmarshal("host "+string(k), v, h); err != nil {
				return err
			}
			hosts = append(hosts, h)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list hosts: %w", err)
	}
	return hosts, nil
}
