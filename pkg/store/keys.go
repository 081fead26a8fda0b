package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Key layout (all integers big-endian, so byte order is numeric order):
//
//	meta          "schema_version"            -> uint64
//	hosts         hostID                      -> Host
//	runs          runID                       -> Run
//	runs_by_time  startedAt(8) runID          -> empty (ListRuns walks it from the end)
//	results       runID 0x00 host             -> RunResult
//	phases        runID 0x00 host 0x00 seq(4) -> PhaseResult
//	events        runID 0x00 seq(8)           -> PurgeEvent (seq: the bucket's NextSequence)
//	allowlist     version(8)                  -> AllowlistVersion
//	tokens        hash                        -> Token (protobuf wire format, token_codec.go)
//
// Ids and host names never hold 0x00, so "runID 0x00" is a prefix that
// belongs to one run only.
const sep = 0x00

// maxIDLen keeps keys well under bbolt's 32 KiB key limit.
const maxIDLen = 1024

// checkID rejects an id or name that cannot be part of a key.
func checkID(what, id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%s is empty", what)
	case len(id) > maxIDLen:
		return fmt.Errorf("%s is longer than %d bytes", what, maxIDLen)
	case bytes.IndexByte([]byte(id), sep) >= 0:
		return fmt.Errorf("%s %q holds a NUL byte", what, id)
	}
	return nil
}

func u64(v uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), v)
}

// timeKey orders times as bytes; flipping the sign bit keeps times before
// 1970 before times after it.
func timeKey(t time.Time) []byte {
	return u64(uint64(t.UnixNano()) ^ (1 << 63))
}

// runTimeKey is a run's key in runs_by_time.
func runTimeKey(startedAt time.Time, runID string) []byte {
	return append(timeKey(startedAt), runID...)
}

// runTimeKeyID returns the run id part of a runs_by_time key.
func runTimeKeyID(k []byte) string { return string(k[8:]) }

// runPrefix is the prefix of every results, phases and events key of a run.
func runPrefix(runID string) []byte {
	return append([]byte(runID), sep)
}

func resultKey(runID, host string) []byte {
	return append(runPrefix(runID), host...)
}

func phasePrefix(runID, host string) []byte {
	return append(append(runPrefix(runID), host...), sep)
}

func phaseKey(runID, host string, seq int32) []byte {
	return binary.BigEndian.AppendUint32(phasePrefix(runID, host), uint32(seq))
}

// seqOf returns the seq part of a phases key.
func seqOf(phaseKey []byte) uint32 {
	if len(phaseKey) < 4 {
		return 0
	}
	return binary.BigEndian.Uint32(phaseKey[len(phaseKey)-4:])
}

func eventKey(runID string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(runPrefix(runID), seq)
}

// scanPrefix calls fn for every key of bucket starting with prefix, in key
// order, and stops at fn's first error.
func scanPrefix(bucket *bolt.Bucket, prefix []byte, fn func(k, v []byte) error) error {
	c := bucket.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// deletePrefix deletes every key of bucket starting with prefix and returns
// how many it deleted. Keys are gathered first: deleting under a moving
// cursor skips keys in bbolt.
func deletePrefix(bucket *bolt.Bucket, prefix []byte) (int, error) {
	var keys [][]byte
	err := scanPrefix(bucket, prefix, func(k, _ []byte) error {
		keys = append(keys, bytes.Clone(k))
		return nil
	})
	if err != nil {
		return 0, err
	}

	for _, k := range keys {
		if err := bucket.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}
