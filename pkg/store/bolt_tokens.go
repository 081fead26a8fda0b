package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// PutToken stores a new enrollment token under its hash.
func (b *Bolt) PutToken(ctx context.Context, t Token) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put token: %w", err)
	}
	if err := checkID("token hash", t.Hash); err != nil {
		return fmt.Errorf("put token: %w", err)
	}
	if t.ExpiresAt.IsZero() {
		return errors.New("put token: no expiry; every enrollment token must expire")
	}

	err := b.update(func(tx *bolt.Tx) error {
		tokens := tx.Bucket(bucketTokens)
		if tokens.Get([]byte(t.Hash)) != nil {
			return errors.New("a token with this hash is already stored")
		}
		return tokens.Put([]byte(t.Hash), encodeToken(t))
	})
	if err != nil {
		return fmt.Errorf("put token: %w", err)
	}
	return nil
}

// ConsumeToken checks and marks the token in one write transaction. bbolt
// runs one write transaction at a time, so of many enrollments racing with
// the same token exactly one sees it unused.
func (b *Bolt) ConsumeToken(ctx context.Context, hash, hostname string, now time.Time) (Token, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, fmt.Errorf("consume token: %w", err)
	}
	if hostname == "" {
		return Token{}, errors.New("consume token: host name is empty")
	}

	var used Token
	err := b.update(func(tx *bolt.Tx) error {
		tokens := tx.Bucket(bucketTokens)
		val := tokens.Get([]byte(hash))
		if val == nil {
			return fmt.Errorf("%w: unknown token", ErrTokenInvalid)
		}

		t, err := decodeToken(val)
		if err != nil {
			return err
		}
		if err := usable(t, hostname, now); err != nil {
			return err
		}

		t.UsedAt = now
		t.UsedBy = hostname
		if err := tokens.Put([]byte(hash), encodeToken(t)); err != nil {
			return err
		}
		used = t
		return nil
	})
	if err != nil {
		return Token{}, fmt.Errorf("consume token: %w", err)
	}
	return used, nil
}

// usable says why t cannot enroll hostname at now, or nil when it can.
func usable(t Token, hostname string, now time.Time) error {
	switch {
	case !t.UsedAt.IsZero():
		return fmt.Errorf("%w: already used by %s at %s; create a new token",
			ErrTokenInvalid, t.UsedBy, t.UsedAt.UTC().Format(time.RFC3339))
	case !now.Before(t.ExpiresAt):
		return fmt.Errorf("%w: expired at %s; create a new token",
			ErrTokenInvalid, t.ExpiresAt.UTC().Format(time.RFC3339))
	case t.Hostname != "" && t.Hostname != hostname:
		return fmt.Errorf("%w: bound to host name %q, not %q",
			ErrTokenInvalid, t.Hostname, hostname)
	}
	return nil
}
