package store

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/proto"
)

// DefaultOpenTimeout is how long OpenBolt waits for the data file's lock
// before it decides another controller holds it.
const DefaultOpenTimeout = 2 * time.Second

// BoltOptions tunes OpenBolt. The zero value is ready to use.
type BoltOptions struct {
	// Timeout bounds the wait for the data file's lock (DefaultOpenTimeout
	// when zero), so a second controller on the same data dir fails fast.
	Timeout time.Duration
	// MaxBatchDelay is how long a batched write waits for others to share
	// its commit (bbolt's default, 10ms, when zero).
	MaxBatchDelay time.Duration
	// MaxBatchSize caps the writes sharing one commit (bbolt's default,
	// 1000, when zero).
	MaxBatchSize int
	// Logger receives lifecycle logs (slog.Default() when nil).
	Logger *slog.Logger
}

// Bolt is the Store kept in one bbolt file. Writes that many agents make at
// once (hosts, phases, results, events, run updates) go through bbolt's
// Batch, so concurrent writers share one fsync; each still returns only
// after its commit.
type Bolt struct {
	db   *bolt.DB
	path string
	log  *slog.Logger
	// broken is set once damage left bbolt unusable (its locks held by
	// the transaction the damage interrupted): every call then fails at
	// once instead of waiting on them forever.
	broken atomic.Bool
}

// probeWait is how long a read may wait, after damage was met, before the
// store is deemed broken.
const probeWait = 2 * time.Second

var _ Store = (*Bolt)(nil)

// OpenBolt opens (or creates, mode 0600) the store file at path, creating
// its directory (0700) when missing, and brings its schema up to date. When
// another process holds the file it fails after opts.Timeout with an error
// saying the data dir is in use by another controller.
func OpenBolt(path string, opts BoltOptions) (*Bolt, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}

	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultOpenTimeout
	}

	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create store dir for %s: %w", path, err)
	}

	before, statErr := os.Stat(path)
	if statErr == nil && before.Size() == 0 {
		return nil, fmt.Errorf("open store %s: %w (it is empty, 0 bytes): restore it from a backup, or "+
			"remove it to start with an empty history", path, errDamaged)
	}
	db, err := openFile(path, timeout)
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: data dir in use by another controller "+
			"(no lock within %s); stop it or choose another data dir: %w", path, timeout, err)
	}
	if err != nil && statErr == nil && !errors.Is(err, errDamaged) &&
		(errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrChecksum) ||
			errors.Is(err, bolterrors.ErrVersionMismatch) || strings.Contains(err.Error(), "file size too small")) {
		err = fmt.Errorf("%w (%v): restore it from a backup, or move it aside to start with an empty history",
			errDamaged, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}

	if statErr == nil {
		if err := checkSize(db, before.Size()); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
	}

	if opts.MaxBatchDelay > 0 {
		db.MaxBatchDelay = opts.MaxBatchDelay
	}
	if opts.MaxBatchSize > 0 {
		db.MaxBatchSize = opts.MaxBatchSize
	}

	version, err := migrate(db, log)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}

	log.Info("store opened", "path", path, "schema_version", version)
	return &Bolt{db: db, path: path, log: log}, nil
}

// errDamaged marks a store file bbolt could not open because its pages are
// not what they must be (a truncated or overwritten file).
var errDamaged = errors.New("the store file is damaged")

// openFile opens the bbolt file. bbolt panics, rather than returning an
// error, on some damaged files (a freelist page that is not one, as in a
// truncated file; etcd-io/bbolt issue 446): that panic becomes an error
// that says what to do, instead of a crash at every start.
//
// LIMITATION: damage that bbolt only meets later, in a page read by a
// transaction, still panics there; `bbolt check FILE` finds it.
func openFile(path string, timeout time.Duration) (db *bolt.DB, err error) {
	// A page of a truncated file past its end faults when read through
	// the map; as a panic it can be recovered like bbolt's own.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			db, err = nil, fmt.Errorf("%w (%v): restore it from a backup, or move it aside to start "+
				"with an empty history (`bbolt check` on it says more)", errDamaged, p)
		}
	}()
	return bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
}

// checkSize refuses a file shorter than the pages its last commit says it
// holds (tx.Size): one cut short by a full disk or an interrupted copy,
// which bbolt would otherwise read past its end later, while serving.
func checkSize(db *bolt.DB, size int64) error {
	var want int64
	if err := db.View(func(tx *bolt.Tx) error { want = tx.Size(); return nil }); err != nil {
		return err
	}
	if size < want {
		return fmt.Errorf("%w (it is %d bytes, its last commit wrote %d: it was cut short): restore it "+
			"from a backup, or move it aside to start with an empty history", errDamaged, size, want)
	}
	return nil
}

// view is db.View for a store that may be damaged: a panic or a memory
// fault while reading pages becomes an error that says so, instead of
// ending the controller.
//
// LIMITATION: writes (Update, Batch) are not guarded: a damaged page met
// while writing ends the process (guarding them the same way left bbolt's
// batch locks held and the next write hung, in a trial); at the next start
// OpenBolt refuses a file cut short with the damaged-file error.
func (b *Bolt) view(fn func(tx *bolt.Tx) error) (err error) {
	if err := b.usable(); err != nil {
		return err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			b.log.Error("store file damaged", "path", b.path, "panic", fmt.Sprint(p))
			err = fmt.Errorf("%w (%v): restore %s from a backup", errDamaged, p, b.path)
			b.probe()
		}
	}()
	return b.db.View(fn)
}

// update is db.Update on a store not known to be broken.
func (b *Bolt) update(fn func(tx *bolt.Tx) error) error {
	if err := b.usable(); err != nil {
		return err
	}
	return b.db.Update(fn)
}

// batch is db.Batch on a store not known to be broken.
func (b *Bolt) batch(fn func(tx *bolt.Tx) error) error {
	if err := b.usable(); err != nil {
		return err
	}
	return b.db.Batch(fn)
}

func (b *Bolt) usable() error {
	if b.broken.Load() {
		return fmt.Errorf("%w: the store stopped working after damage was found; restore %s from a "+
			"backup and restart the controller", errDamaged, b.path)
	}
	return nil
}

// probe checks, after damage interrupted a read, that a new transaction
// can still begin; when none can within probeWait (a fault inside bbolt
// left its locks held), the store is marked broken. A probe that stays
// blocked is left behind.
func (b *Bolt) probe() {
	done := make(chan bool, 1)
	go func() {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if recover() != nil {
				done <- false
			}
		}()
		done <- b.db.View(func(*bolt.Tx) error { return nil }) == nil
	}()
	select {
	case ok := <-done:
		if ok {
			return
		}
	case <-time.After(probeWait):
	}
	b.broken.Store(true)
	b.log.Error("store unusable after damage; every call now fails until the controller restarts",
		"path", b.path)
}

// Close releases the data file and its lock.
func (b *Bolt) Close() error {
	if b.broken.Load() {
		// Closing would wait on the locks the damage left held.
		return fmt.Errorf("close store %s: %w", b.path, b.usable())
	}
	if err := b.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", b.path, err)
	}
	return nil
}

// marshal encodes a message for storage, outside any transaction, so that
// transactions (and retried batch functions) stay short.
func marshal(what string, m proto.Message) ([]byte, error) {
	data, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", what, err)
	}
	return data, nil
}

// unmarshal decodes a stored value into m. proto.Unmarshal copies what it
// keeps, so m stays valid after the transaction ends.
func unmarshal(what string, data []byte, m proto.Message) error {
	if err := proto.Unmarshal(data, m); err != nil {
		return fmt.Errorf("decode %s: %w", what, err)
	}
	return nil
}
