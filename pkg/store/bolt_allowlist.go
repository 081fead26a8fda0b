package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// CurrentAllowlist returns the version under the allowlist bucket's last
// key, or ErrNotFound when none was ever set.
func (b *Bolt) CurrentAllowlist(ctx context.Context) (*arcanosv1.AllowlistVersion, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("current allowlist: %w", err)
	}

	v := &arcanosv1.AllowlistVersion{}
	err := b.view(func(tx *bolt.Tx) error {
		k, val := tx.Bucket(bucketAllowlist).Cursor().Last()
		if k == nil {
			return ErrNotFound
		}
		return unmarshal("allowlist version", val, v)
	})
	if err != nil {
		return nil, fmt.Errorf("current allowlist: %w", err)
	}
	return v, nil
}

// SetAllowlist compares expected with the current version and stores the
// next one in the same transaction, so of two operators editing the same
// version exactly one succeeds.
func (b *Bolt) SetAllowlist(
	ctx context.Context, doc []byte, expected int64, who, comment string,
) (*arcanosv1.AllowlistVersion, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("set allowlist: %w", err)
	}

	next := &arcanosv1.AllowlistVersion{
		Version:   expected + 1,
		Document:  doc,
		ChangedBy: who,
		ChangedAt: timestamppb.New(time.Now()),
		Comment:   comment,
	}
	val, err := marshal("allowlist version", next)
	if err != nil {
		return nil, err
	}

	err = b.update(func(tx *bolt.Tx) error {
		bucket := tx.Bucket(bucketAllowlist)

		var current int64
		if k, _ := bucket.Cursor().Last(); k != nil {
			current = int64(binary.BigEndian.Uint64(k))
		}
		if expected != current {
			return fmt.Errorf("expected version %d but the current version is %d; "+
				"get the current allowlist and apply the change again: %w",
				expected, current, ErrVersionConflict)
		}
		return bucket.Put(u64(uint64(next.Version)), val)
	})
	if err != nil {
		return nil, fmt.Errorf("set allowlist: %w", err)
	}

	return next, nil
}

// AllowlistHistory walks the allowlist bucket from its newest version.
func (b *Bolt) AllowlistHistory(ctx context.Context, limit int) ([]*arcanosv1.AllowlistVersion, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("allowlist history: %w", err)
	}

	list := []*arcanosv1.AllowlistVersion{}
	err := b.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAllowlist).Cursor()
		for k, val := c.Last(); k != nil; k, val = c.Prev() {
			if limit > 0 && len(list) >= limit {
				break
			}
			v := &arcanosv1.AllowlistVersion{}
			if err := unmarshal("allowlist version", val, v); err != nil {
				return err
			}
			list = append(list, v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("allowlist history: %w", err)
	}
	return list, nil
}
