package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/arcanos-dev/arcanos/pkg/store"
	"github.com/arcanos-dev/arcanos/pkg/summary"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// member reports whether hostID takes part in runID, and returns the run
// when it is active. A run that is not active (finished, interrupted by a
// restart) is looked up in the store, so late results are still accepted.
func (e *Engine) member(ctx context.Context, runID, hostID string) (*run, bool, error) {
	if r := e.lookup(runID); r != nil {
		_, ok := r.hosts[hostID]
		return r, ok, nil
	}
	rec, err := e.opts.Store.GetRun(ctx, runID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("look up run %s: %w", runID, err)
	}
	_, ok := rec.GetHosts()[hostID]
	return nil, ok, nil
}

// StorePhase stores one phase report of hostID, then records its progress.
// It returns nil once the report is durable (or is not for a run of this
// host, which is logged and dropped): the caller may then acknowledge it. An
// error means nothing was stored.
func (e *Engine) StorePhase(ctx context.Context, hostID string, rep *arcanosv1.PhaseReport) error {
	r, ok, err := e.member(ctx, rep.GetRunId(), hostID)
	if err != nil {
		return err
	}
	if !ok {
		e.log.Warn("phase report for a run this host is not part of; dropped",
			"host", hostID, "run", rep.GetRunId(), "seq", rep.GetSeq())
		return nil
	}
	if err := e.opts.Store.PutPhase(ctx, rep.GetRunId(), hostID, rep.GetSeq(), rep.GetPhase()); err != nil {
		return fmt.Errorf("store phase %d of host %s in run %s: %w", rep.GetSeq(), hostID, rep.GetRunId(), err)
	}
	if r == nil {
		return nil
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hosts[hostID]
	h.notePhase(rep.GetSeq(), rep.GetPhase())
	if h.state != arcanosv1.HostRunState_HOST_RUN_STATE_RUNNING || rep.GetSeq() <= h.lastSeq {
		return nil // a re-sent report, or one after the host's final state
	}
	h.lastSeq = rep.GetSeq()
	r.emit(&arcanosv1.PurgeEvent{RunId: r.id, Host: hostID,
		State: arcanosv1.HostRunState_HOST_RUN_STATE_PHASE_DONE, Phase: rep.GetPhase()})
	return nil
}

// StoreResult stores hostID's run result, then moves the host to FINISHED
// (FAILED when the result says the run could not complete). A result sent
// without its phases (phases_reported) is stored as it came: the store
// returns it with the phases stored from the host's phase reports. A result
// that arrives after the host's final state (a deadline passed, the
// controller restarted) is still stored, and an event says it came late.
func (e *Engine) StoreResult(ctx context.Context, hostID string, rep *arcanosv1.RunReport) error {
	runID := rep.GetRunId()
	r, ok, err := e.member(ctx, runID, hostID)
	if err != nil {
		return err
	}
	if !ok {
		e.log.Warn("run result for a run this host is not part of; dropped", "host", hostID, "run", runID)
		return nil
	}
	res := rep.GetResult()
	if res.GetHost() != hostID {
		// The host is who its certificate says, whatever name it reports.
		res = proto.Clone(res).(*arcanosv1.RunResult)
		res.Host = hostID
	}
	byRef := referenced(rep)
	if res.GetSummary() == nil {
		if res, err = e.withSummary(ctx, runID, hostID, res); err != nil {
			return err
		}
	}
	if err := e.opts.Store.PutResult(ctx, runID, hostID, res); err != nil {
		return fmt.Errorf("store result of host %s in run %s: %w", hostID, runID, err)
	}

	if r != nil {
		r.mu.Lock()
		h := r.hosts[hostID]
		if !isFinal(h.state) {
			why := joinWhy(modeWhy(res, r.p.DryRun), h.partialWhy(res, byRef, rep.GetPhasesReported(), r.p.Phases))
			state, detail := resultState(res, why)
			r.set(h, state, detail, res)
			r.mu.Unlock()
			return nil
		}
		r.mu.Unlock()
	}

	why, err := e.storedPartialWhy(ctx, runID, hostID, res, byRef, rep.GetPhasesReported())
	if err != nil {
		return err
	}
	state, detail := resultState(res, why)
	if r == nil && e.reviveAfterRestart(ctx, runID, hostID, state) {
		e.log.Info("result after a controller restart stored; host state updated",
			"host", hostID, "run", runID, "state", state.String())
		e.events.add(&arcanosv1.PurgeEvent{RunId: runID, Host: hostID, State: state,
			Detail: "result re-sent after the controller restarted: " + detail, At: now()})
		return nil
	}

	e.log.Info("late result stored", "host", hostID, "run", runID)
	e.events.add(&arcanosv1.PurgeEvent{RunId: runID, Host: hostID, State: state,
		Detail: "result arrived after the host's final state was recorded; stored, state unchanged",
		At:     now()})
	return nil
}

// withSummary returns a copy of res with the summary counted from its
// phases, or from the host's stored phases when it carries none: an agent
// reporting a run it lost (it was killed during it) cannot count the phases
// it sent before, but the operator must see what they found and did.
func (e *Engine) withSummary(ctx context.Context, runID, hostID string, res *arcanosv1.RunResult,
) (*arcanosv1.RunResult, error) {
	phases := res.GetPhases()
	if len(phases) == 0 {
		var err error
		if phases, err = e.opts.Store.Phases(ctx, runID, hostID); err != nil {
			return nil, fmt.Errorf("read the phases of host %s in run %s to count them: %w", hostID, runID, err)
		}
	}
	out := proto.Clone(res).(*arcanosv1.RunResult)
	out.Summary = summary.Of(phases)
	return out, nil
}

// storedPartialWhy judges a result of a run no longer active, or of a host
// already final, reading the stored phases when the result came without.
func (e *Engine) storedPartialWhy(ctx context.Context, runID, hostID string, res *arcanosv1.RunResult,
	byRef bool, reported int32) (string, error) {
	rec, err := e.opts.Store.GetRun(ctx, runID)
	if err != nil {
		return "", fmt.Errorf("read run %s to judge the result of host %s: %w", runID, hostID, err)
	}
	mode := modeWhy(res, rec.GetDryRun())
	if !byRef {
		return joinWhy(mode, wholeWhy(res, rec.GetPhases())), nil
	}
	seqs, err := e.opts.Store.PhaseSeqs(ctx, runID, hostID)
	if err != nil {
		return "", fmt.Errorf("read the phase seqs of host %s in run %s to judge its result: %w", hostID, runID, err)
	}
	phases, err := e.opts.Store.Phases(ctx, runID, hostID)
	if err != nil {
		return "", fmt.Errorf("read the phases of host %s in run %s to judge its result: %w", hostID, runID, err)
	}
	if len(seqs) != len(phases) {
		return "", fmt.Errorf("the phases of host %s in run %s changed while read", hostID, runID)
	}
	stored := make(map[int32]phaseMark, len(seqs))
	for i, seq := range seqs {
		stored[trackedSeq(seq)] = markOf(phases[i])
	}
	return joinWhy(mode, referencedWhy(stored, reported, rec.GetPhases(), res.GetSummary())), nil
}

// Refused records that hostID's agent refused the run, with its reason.
func (e *Engine) Refused(hostID string, rr *arcanosv1.RunRefused) {
	r := e.lookup(rr.GetRunId())
	if r == nil {
		e.log.Warn("refusal for a run that is not active", "host", hostID, "run", rr.GetRunId())
		return
	}
	h, ok := r.hosts[hostID]
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.set(h, arcanosv1.HostRunState_HOST_RUN_STATE_REFUSED, "refused by the agent: "+rr.GetReason(), nil)
}

// Disconnected notes that hostID's stream ended. A host running a run keeps
// running until its deadline: its agent re-sends its result after
// reconnecting, and only a host with no result by then is failed.
func (e *Engine) Disconnected(hostID string) {
	at := time.Now()
	for _, r := range e.runsOf(hostID) {
		r.mu.Lock()
		h := r.hosts[hostID]
		if h.state == arcanosv1.HostRunState_HOST_RUN_STATE_RUNNING {
			h.disconnected = at
			r.emit(&arcanosv1.PurgeEvent{RunId: r.id, Host: hostID, State: h.state,
				Detail: "agent disconnected; its result is awaited until the deadline " +
					h.deadline.UTC().Format(time.RFC3339)})
		}
		r.mu.Unlock()
	}
}

// runsOf returns the active runs hostID takes part in.
func (e *Engine) runsOf(hostID string) []*run {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []*run
	for _, r := range e.active {
		if _, ok := r.hosts[hostID]; ok {
			out = append(out, r)
		}
	}
	return out
}

// reviveAfterRestart gives a host that Recover failed only because the
// controller restarted the state of the result its agent re-sent, so a run
// cut by a restart shows what really happened on that host.
func (e *Engine) reviveAfterRestart(ctx context.Context, runID, hostID string, state arcanosv1.HostRunState) bool {
	key := runID + "\x00" + hostID
	e.mu.Lock()
	ok := e.restartFailed[key]
	delete(e.restartFailed, key)
	e.mu.Unlock()
	if !ok {
		return false
	}
	rec, err := e.opts.Store.GetRun(ctx, runID)
	if err != nil {
		e.log.Warn("read run to update a host after a restart", "run", runID, "err", err)
		return false
	}
	if rec.Hosts == nil {
		rec.Hosts = map[string]arcanosv1.HostRunState{}
	}
	rec.Hosts[hostID] = state
	rec.Detail = fmt.Sprintf("interrupted: the %s during the run; host states now, with the results "+
		"re-sent since: %s", RestartedDetail, stateCounts(rec.GetHosts()))
	if err := e.opts.Store.UpdateRun(ctx, rec); err != nil {
		e.log.Warn("update a host after a restart", "run", runID, "err", err)
		return false
	}
	return true
}
