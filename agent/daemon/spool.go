package daemon

import (
	"cmp"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// spoolExt ends the name of every spooled report.
const spoolExt = ".pb"

// maxSpoolFile caps one spooled report read back from disk.
const maxSpoolFile = 64 << 20

// ReportKey names one report: a phase of a run (Seq from 1), or the run's
// final result (Final, Seq 0).
type ReportKey struct {
	RunID string
	Seq   int32
	Final bool
}

// String formats the key for logs.
func (k ReportKey) String() string {
	if k.Final {
		return k.RunID + "/final"
	}
	return k.RunID + "/" + strconv.Itoa(int(k.Seq))
}

// keyOf returns the key of a report, or false when req is not a report.
func keyOf(req *arcanosv1.ConnectRequest) (ReportKey, bool) {
	switch m := req.GetMsg().(type) {
	case *arcanosv1.ConnectRequest_Phase:
		return ReportKey{RunID: m.Phase.GetRunId(), Seq: m.Phase.GetSeq()}, true
	case *arcanosv1.ConnectRequest_Run:
		return ReportKey{RunID: m.Run.GetRunId(), Final: true}, true
	}
	return ReportKey{}, false
}

// Spool keeps every report on disk, one file each, from the moment it is
// made until the controller acknowledges it, so that results survive a
// dropped stream and a restart of the agent. Reports come back in the order
// they were put.
//
// LIMITATION: the spool has no size cap; an agent whose controller never
// acknowledges anything keeps every report until it is acknowledged.
type Spool struct {
	dir string
	log *slog.Logger

	mu      sync.Mutex
	entries map[ReportKey]spoolEntry
	last    int64
	changed chan struct{}
	// acked holds, per run, the phase reports this process saw
	// acknowledged, until the run's final ack: a phase report no longer
	// spooled was acknowledged only if it is here (its file may also have
	// been lost).
	acked map[string]map[int32]bool
}

type spoolEntry struct {
	order int64
	file  string
}

// OpenSpool opens (creating it, mode 0700) the spool directory and indexes
// the reports left in it. A file that cannot be read back is logged and
// left in place under its name, never sent.
func OpenSpool(dir string, log *slog.Logger) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create spool %s: %w", dir, err)
	}
	s := &Spool{dir: dir, log: log, entries: map[ReportKey]spoolEntry{}, changed: make(chan struct{}, 1),
		acked: map[string]map[int32]bool{}}
	names, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read spool %s: %w", dir, err)
	}
	for _, de := range names {
		name := de.Name()
		if de.Type().IsRegular() && strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-") {
			s.removeFile(name) // a write cut short by a crash; its report was never indexed
			continue
		}
		if !de.Type().IsRegular() || !strings.HasSuffix(name, spoolExt) || strings.HasPrefix(name, ".") {
			continue
		}
		if err := s.index(name); err != nil {
			log.Warn("spooled report unreadable; it is kept but not sent", "file", filepath.Join(dir, name), "err", err)
		}
	}
	return s, nil
}

func (s *Spool) index(name string) error {
	order, err := strconv.ParseInt(strings.SplitN(name, "-", 2)[0], 10, 64)
	if err != nil {
		return fmt.Errorf("name %s: no order prefix", name)
	}
	req, err := s.readFile(name)
	if err != nil {
		return err
	}
	k, ok := keyOf(req)
	if !ok {
		return fmt.Errorf("%s holds no phase or run report", name)
	}
	s.entries[k] = spoolEntry{order: order, file: name}
	s.last = max(s.last, order)
	return nil
}

// Put writes a report durably; it returns once the file and its directory
// entry are on disk. A report with the key of one already spooled replaces it.
func (s *Spool) Put(req *arcanosv1.ConnectRequest) error {
	k, ok := keyOf(req)
	if !ok {
		return fmt.Errorf("spool: %T is not a report", req.GetMsg())
	}
	data, err := proto.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode report %s: %w", k, err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = max(s.last+1, time.Now().UnixNano())
	kind := "phase"
	if k.Final {
		kind = "run"
	}
	name := fmt.Sprintf("%020d-%s%s", s.last, kind, spoolExt)
	if err := writeFileAtomic(s.dir, name, data, 0o600); err != nil {
		return fmt.Errorf("spool report %s: %w", k, err)
	}
	if old, ok := s.entries[k]; ok {
		s.removeFile(old.file)
	}
	s.entries[k] = spoolEntry{order: s.last, file: name}
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return nil
}

// Changed is signalled after each Put.
func (s *Spool) Changed() <-chan struct{} { return s.changed }

// Pending returns the keys of every unacknowledged report, oldest first.
func (s *Spool) Pending() []ReportKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]ReportKey, 0, len(s.entries))
	for k := range s.entries {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b ReportKey) int {
		return cmp.Compare(s.entries[a].order, s.entries[b].order)
	})
	return keys
}

// Read returns a spooled report.
func (s *Spool) Read(k ReportKey) (*arcanosv1.ConnectRequest, error) {
	s.mu.Lock()
	e, ok := s.entries[k]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("report %s: %w", k, os.ErrNotExist)
	}
	return s.readFile(e.file)
}

func (s *Spool) readFile(name string) (*arcanosv1.ConnectRequest, error) {
	path := filepath.Join(s.dir, name)
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("stat spooled report %s: %w", path, err)
	}
	if fi.Size() > maxSpoolFile {
		return nil, fmt.Errorf("spooled report %s: %d bytes, over the %d cap", path, fi.Size(), maxSpoolFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read spooled report %s: %w", path, err)
	}
	req := &arcanosv1.ConnectRequest{}
	if err := proto.Unmarshal(data, req); err != nil {
		return nil, fmt.Errorf("decode spooled report %s: %w", path, err)
	}
	return req, nil
}

// Ack removes what an acknowledgement covers: one phase report, or, when
// final, the run's result and every phase report of that run (the result
// holds them all). It returns how many reports it removed.
func (s *Spool) Ack(a *arcanosv1.Ack) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.GetFinal() {
		delete(s.acked, a.GetRunId())
	} else {
		if s.acked[a.GetRunId()] == nil {
			s.acked[a.GetRunId()] = map[int32]bool{}
		}
		s.acked[a.GetRunId()][a.GetSeq()] = true
	}
	n := 0
	for k, e := range s.entries {
		if k.RunID != a.GetRunId() {
			continue
		}
		if a.GetFinal() || (!k.Final && k.Seq == a.GetSeq()) {
			s.removeFile(e.file)
			delete(s.entries, k)
			n++
		}
	}
	if n > 0 {
		if err := syncDir(s.dir); err != nil {
			s.log.Warn("spool", "err", err)
		}
	}
	return n
}

// Acked reports whether this process saw the phase report seq of runID
// acknowledged (and not yet the run's final result).
func (s *Spool) Acked(runID string, seq int32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acked[runID][seq]
}

// Len returns how many reports await their acknowledgement.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

func (s *Spool) removeFile(name string) {
	// audit: removes one of the agent's own spool files in its state dir;
	// guard: only files this spool wrote: acked, replaced by a newer copy, or
	// temporary files of a write a crash cut short.
	if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !os.IsNotExist(err) {
		s.log.Warn("remove spooled report", "file", name, "err", err)
	}
}
