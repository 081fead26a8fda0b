// Package store keeps the controller's history: hosts, runs, each host's
// phase and run results, run events, the versioned central allowlist and
// enrollment tokens. The controller talks to the Store interface; Bolt is the
// engine behind it today, and another (etcd, SQL) can stand behind it later.
package store

import (
	"context"
	"errors"
	"time"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// ErrNotFound says the host, run, allowlist or token asked for is not stored.
var ErrNotFound = errors.New("not found")

// ErrVersionConflict says SetAllowlist was given an expected version that is
// no longer the current one: someone else changed the allowlist first.
var ErrVersionConflict = errors.New("allowlist version conflict")

// ErrTokenInvalid says an enrollment token cannot be used: unknown, expired,
// already used or bound to another host name. The wrapping error says which.
var ErrTokenInvalid = errors.New("enrollment token invalid")

// Token is a stored enrollment token. Only the hash of its secret is kept.
type Token struct {
	// Hash is the hex sha256 of the token's secret; it is the token's key.
	Hash string
	// Hostname, when set, is the only host name the token may enroll.
	Hostname string
	// ExpiresAt is when the token stops being accepted; it must be set.
	ExpiresAt time.Time
	// CreatedBy is the operator who created the token.
	CreatedBy string
	// UsedAt is when the token was consumed; zero while unused.
	UsedAt time.Time
	// UsedBy is the host name that consumed the token.
	UsedBy string
}

// Store is the controller's storage. Every method is safe for concurrent use.
// Methods that write are durable when they return nil: the data is committed
// to disk. A context is checked before the work starts; a write already
// queued for commit is not abandoned when its context ends.
type Store interface {
	// PutHost stores h under h.HostId, replacing what was stored (register,
	// heartbeat, online/offline). Writes from many agents share commits.
	PutHost(ctx context.Context, h *arcanosv1.Host) error
	// GetHost returns the host stored under hostID, or ErrNotFound.
	GetHost(ctx context.Context, hostID string) (*arcanosv1.Host, error)
	// ListHosts returns every stored host ordered by host id; an empty
	// store gives an empty slice and no error.
	ListHosts(ctx context.Context) ([]*arcanosv1.Host, error)

	// CreateRun stores a new run under r.RunId, indexed by r.StartedAt,
	// which must be set. A run id already stored is an error.
	CreateRun(ctx context.Context, r *arcanosv1.Run) error
	// UpdateRun replaces a stored run (final host states, finished_at,
	// detail); ErrNotFound when the run was never created or was pruned.
	UpdateRun(ctx context.Context, r *arcanosv1.Run) error
	// GetRun returns the run stored under runID, or ErrNotFound.
	GetRun(ctx context.Context, runID string) (*arcanosv1.Run, error)
	// ListRuns returns up to limit runs, newest started first; limit <= 0
	// means every run.
	ListRuns(ctx context.Context, limit int) ([]*arcanosv1.Run, error)

	// PutPhase stores one phase result of host in run runID under its seq
	// (from the agent's PhaseReport). Storing the same seq again replaces
	// it, so a report re-sent after a reconnect is harmless. ErrNotFound
	// when the run is unknown. Durable on return.
	PutPhase(ctx context.Context, runID, host string, seq int32, p *arcanosv1.PhaseResult) error
	// PutResult stores host's final result of run runID, replacing an
	// earlier one (idempotent re-send). ErrNotFound when the run is
	// unknown. Durable on return.
	PutResult(ctx context.Context, runID, host string, r *arcanosv1.RunResult) error
	// AddResult stores host's result of run runID only when none is stored
	// yet, and says whether it did: the controller's own account of a host
	// (failed at its deadline) never replaces what the agent sent. Durable
	// on return.
	AddResult(ctx context.Context, runID, host string, r *arcanosv1.RunResult) (bool, error)
	// Results returns the final result of every host of runID, ordered by
	// host; ErrNotFound when the run is unknown, an empty slice when no
	// host has finished yet. A result stored without phases is returned
	// with the host's phases from PutPhase, in seq order: an agent that
	// reported its phases one by one need not send them again.
	Results(ctx context.Context, runID string) ([]*arcanosv1.RunResult, error)
	// Phases returns host's phase results in run runID ordered by seq;
	// ErrNotFound when the run is unknown, an empty slice when none arrived.
	Phases(ctx context.Context, runID, host string) ([]*arcanosv1.PhaseResult, error)
	// PhaseSeqs returns the seqs of host's stored phases in run runID, in
	// order, without reading the phases; ErrNotFound when the run is
	// unknown.
	PhaseSeqs(ctx context.Context, runID, host string) ([]int32, error)
	// AppendEvent stores e after every event of e.RunId stored before it.
	// ErrNotFound when the run is unknown. Durable on return.
	AppendEvent(ctx context.Context, e *arcanosv1.PurgeEvent) error
	// AppendEvents stores events, of one run or several, with one commit and
	// in slice order, each after every event of its run stored before it.
	// An event that cannot be stored (its run unknown, its run id invalid)
	// does not stop the others: they are stored and the error names what
	// was skipped, wrapping ErrNotFound for the unknown runs.
	// An empty slice stores nothing. Durable on return.
	AppendEvents(ctx context.Context, events []*arcanosv1.PurgeEvent) error
	// Events returns the events of runID in the order they were appended;
	// ErrNotFound when the run is unknown.
	Events(ctx context.Context, runID string) ([]*arcanosv1.PurgeEvent, error)

	// CurrentAllowlist returns the newest allowlist version, or ErrNotFound
	// when none was ever set.
	CurrentAllowlist(ctx context.Context) (*arcanosv1.AllowlistVersion, error)
	// SetAllowlist stores doc as version expected+1 when expected is the
	// current version (0: none set yet) and returns it; otherwise it stores
	// nothing and returns ErrVersionConflict. The caller validates doc.
	SetAllowlist(ctx context.Context, doc []byte, expected int64, who, comment string,
	) (*arcanosv1.AllowlistVersion, error)
	// AllowlistHistory returns up to limit versions, newest first; limit
	// <= 0 means every version. Versions are never pruned.
	AllowlistHistory(ctx context.Context, limit int) ([]*arcanosv1.AllowlistVersion, error)

	// PutToken stores a new enrollment token under t.Hash. The hash must be
	// new and ExpiresAt set.
	PutToken(ctx context.Context, t Token) error
	// ConsumeToken marks the token with this hash used by hostname at now,
	// atomically, and returns it. An unknown, expired, used or
	// other-host token gives ErrTokenInvalid wrapped with the reason, and
	// the token is left as it was.
	ConsumeToken(ctx context.Context, hash, hostname string, now time.Time) (Token, error)

	// Prune deletes runs started before now-maxAge (maxAge > 0) and runs
	// beyond the newest maxRuns (maxRuns > 0), with their results, phases
	// and events, and tokens expired before now-maxAge. It returns how many
	// runs it deleted.
	Prune(ctx context.Context, maxAge time.Duration, maxRuns int, now time.Time) (int, error)

	// Close releases the store; the data file can then be opened again.
	Close() error
}
