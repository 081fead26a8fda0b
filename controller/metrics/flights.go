package metrics

import (
	"sync"
	"time"
)

// flight is one host's run command, from its dispatch to its result.
type flight struct {
	sent    time.Time
	lastSeq int32 // highest phase report measured
	done    bool  // its result was measured
}

// flights follows the commands of the runs this controller process created,
// so that each phase report and result is measured once although agents
// re-send them after a reconnect. A run's entry lives from its creation to
// its end; memory grows with the hosts of the active runs, not the fleet.
//
// LIMITATION: a run's reports are measured only by the controller process
// that dispatched it; a result an agent re-sends after a controller restart
// is stored but counted as untracked, not in findings, phases or latency.
type flights struct {
	mu   sync.Mutex
	runs map[string]map[string]*flight // run id -> host id -> flight
}

func newFlights() *flights {
	return &flights{runs: map[string]map[string]*flight{}}
}

// created starts following runID.
func (f *flights) created(runID string) {
	f.mu.Lock()
	f.runs[runID] = map[string]*flight{}
	f.mu.Unlock()
}

// dispatched notes that host's command of runID was handed to its stream
// at sent; a run not followed is ignored.
func (f *flights) dispatched(runID, host string, sent time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if hosts, ok := f.runs[runID]; ok {
		hosts[host] = &flight{sent: sent}
	}
}

// undispatched forgets a command that could not be sent.
func (f *flights) undispatched(runID, host string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if hosts, ok := f.runs[runID]; ok {
		delete(hosts, host)
	}
}

// phase reports whether phase report seq of host in runID is to be
// measured: the first time it is seen, before the host's result.
func (f *flights) phase(runID, host string, seq int32) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl := f.runs[runID][host]
	if fl == nil || fl.done || seq <= fl.lastSeq {
		return false
	}
	fl.lastSeq = seq
	return true
}

// result returns when host's command of runID was sent, and whether its
// result is to be measured (the first time only).
func (f *flights) result(runID, host string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl := f.runs[runID][host]
	if fl == nil || fl.done {
		return time.Time{}, false
	}
	fl.done = true
	return fl.sent, true
}

// finished stops following runID and reports whether this process followed
// it (false: it was left by an earlier process and is now interrupted).
func (f *flights) finished(runID string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, own := f.runs[runID]
	delete(f.runs, runID)
	return own
}
