package dispatch

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// recoverScan is how many of the newest runs Recover looks at.
//
// LIMITATION: a run left unfinished by a crash and followed by more than
// recoverScan newer runs before the next start stays unfinished in the
// history; ListRuns(0) would read every run at each start.
const recoverScan = 200

// RestartedDetail is the event detail of a host failed because the
// controller restarted during its run.
const RestartedDetail = "controller restarted"

// Recover closes the runs a previous controller left unfinished (it stopped
// or crashed during them): each host's state is rebuilt from the stored
// events and results, and hosts without a final state are FAILED with the
// detail "controller restarted". Results their agents re-send later are
// still stored and acknowledged.
func (e *Engine) Recover(ctx context.Context) error {
	runs, err := e.opts.Store.ListRuns(ctx, recoverScan)
	if err != nil {
		return fmt.Errorf("recover runs: %w", err)
	}
	for _, rec := range runs {
		if rec.GetFinishedAt() != nil {
			continue
		}
		if err := e.interrupt(ctx, rec); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) interrupt(ctx context.Context, rec *arcanosv1.Run) error {
	id := rec.GetRunId()
	if rec.Hosts == nil {
		rec.Hosts = map[string]arcanosv1.HostRunState{}
	}

	events, err := e.opts.Store.Events(ctx, id)
	if err != nil {
		return fmt.Errorf("recover run %s: %w", id, err)
	}
	for _, ev := range events {
		if _, ok := rec.Hosts[ev.GetHost()]; ok && isFinal(ev.GetState()) {
			rec.Hosts[ev.GetHost()] = ev.GetState()
		}
	}
	results, err := e.opts.Store.Results(ctx, id)
	if err != nil {
		return fmt.Errorf("recover run %s: %w", id, err)
	}
	for _, res := range results {
		host := res.GetHost()
		if state, ok := rec.Hosts[host]; ok && !isFinal(state) {
			rec.Hosts[host], _ = resultState(res, joinWhy(modeWhy(res, rec.GetDryRun()), wholeWhy(res, rec.GetPhases())))
		}
	}

	failed := 0
	for host, state := range rec.Hosts {
		if isFinal(state) {
			continue
		}
		failed++
		rec.Hosts[host] = arcanosv1.HostRunState_HOST_RUN_STATE_FAILED
		e.mu.Lock()
		if e.restartFailed == nil {
			e.restartFailed = map[string]bool{}
		}
		e.restartFailed[id+"\x00"+host] = true
		e.mu.Unlock()
		e.events.add(&arcanosv1.PurgeEvent{RunId: id, Host: host,
			State: arcanosv1.HostRunState_HOST_RUN_STATE_FAILED, Detail: RestartedDetail, At: now()})
		if seqs, err := e.opts.Store.PhaseSeqs(ctx, id, host); err == nil && len(seqs) > 0 {
			e.keepPartial(ctx, id, host, rec.GetDryRun(), "the "+RestartedDetail+" during the run")
		}
	}

	rec.FinishedAt = timestamppb.New(time.Now())
	rec.Detail = fmt.Sprintf("interrupted: the %s during the run; %d host(s) without a final "+
		"state marked failed (was: %s)", RestartedDetail, failed, rec.GetDetail())
	if err := e.opts.Store.UpdateRun(ctx, rec); err != nil {
		return fmt.Errorf("mark run %s interrupted: %w", id, err)
	}
	e.log.Warn("run interrupted by a controller restart", "run", id, "hosts_failed", failed)
	return nil
}
