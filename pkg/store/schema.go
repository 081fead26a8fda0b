package store

import (
	"encoding/binary"
	"fmt"
	"log/slog"

	bolt "go.etcd.io/bbolt"
)

// Top-level buckets. The key layout of each is in keys.go.
var (
	bucketMeta       = []byte("meta")
	bucketHosts      = []byte("hosts")
	bucketRuns       = []byte("runs")
	bucketRunsByTime = []byte("runs_by_time")
	bucketResults    = []byte("results")
	bucketPhases     = []byte("phases")
	bucketEvents     = []byte("events")
	bucketAllowlist  = []byte("allowlist")
	bucketTokens     = []byte("tokens")
)

// schemaV1Buckets are the buckets of schema version 1.
var schemaV1Buckets = [][]byte{
	bucketMeta, bucketHosts, bucketRuns, bucketRunsByTime, bucketResults,
	bucketPhases, bucketEvents, bucketAllowlist, bucketTokens,
}

var keySchemaVersion = []byte("schema_version")

// upgrades[i] moves a store from schema version i+1 to i+2, inside the
// transaction that then records the new version. A change of key layout or
// of a stored message's meaning adds a step here; the steps already shipped
// never change.
var upgrades []func(tx *bolt.Tx) error

// currentSchema is the schema version this build writes.
func currentSchema() uint64 { return uint64(len(upgrades)) + 1 }

// migrate creates the buckets of a new store, or runs the upgrade steps an
// older store needs, in one transaction, and returns the schema version.
func migrate(db *bolt.DB, log *slog.Logger) (uint64, error) {
	var version uint64

	err := db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return initSchema(tx)
		}

		raw := meta.Get(keySchemaVersion)
		if len(raw) != 8 {
			return fmt.Errorf("store has no valid schema_version in its meta bucket")
		}
		version = binary.BigEndian.Uint64(raw)

		want := currentSchema()
		if version > want {
			return fmt.Errorf("store has schema version %d, newer than the %d this "+
				"controller knows; run a newer controller", version, want)
		}

		for version < want {
			log.Info("store schema upgrade", "from", version, "to", version+1)
			if err := upgrades[version-1](tx); err != nil {
				return fmt.Errorf("upgrade store schema from %d to %d: %w", version, version+1, err)
			}
			version++
		}
		return putSchemaVersion(tx, version)
	})
	if err != nil {
		return 0, err
	}
	return version, nil
}

// initSchema lays out a new store at the current version. A file that holds
// buckets but no meta bucket is not an arcanos store and is left alone.
func initSchema(tx *bolt.Tx) error {
	foreign := false
	_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		foreign = true
		return nil
	})
	if foreign {
		return fmt.Errorf("file holds data but no arcanos schema; is it an arcanos store?")
	}

	for _, name := range schemaV1Buckets {
		if _, err := tx.CreateBucket(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}

	version := uint64(1)
	for version < currentSchema() {
		if err := upgrades[version-1](tx); err != nil {
			return fmt.Errorf("upgrade new store schema from %d to %d: %w", version, version+1, err)
		}
		version++
	}
	return putSchemaVersion(tx, version)
}

func putSchemaVersion(tx *bolt.Tx, version uint64) error {
	if err := tx.Bucket(bucketMeta).Put(keySchemaVersion, u64(version)); err != nil {
		return fmt.Errorf("record schema version %d: %w", version, err)
	}
	return nil
}

// SchemaVersion returns the schema version recorded in the store.
func (b *Bolt) SchemaVersion() (uint64, error) {
	var version uint64
	err := b.view(func(tx *bolt.Tx) error {
		version = binary.BigEndian.Uint64(tx.Bucket(bucketMeta).Get(keySchemaVersion))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read store schema version: %w", err)
	}
	return version, nil
}
