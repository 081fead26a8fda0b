package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/arcanos-dev/arcanos/controller/registry"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// drive follows the run until every host reached a final state, or ctx
// ends (controller shutdown). It is the only goroutine that dispatches.
func (r *run) drive(ctx context.Context) {
	r.mu.Lock()
	r.announce()
	r.mu.Unlock()

	checkpoint := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		r.mu.Lock()
		now := time.Now()
		if expired := r.expire(now); len(expired) > 0 {
			r.mu.Unlock()
			r.keepPartials(ctx, expired)
			continue
		}
		r.dispatch(now)
		if r.final == len(r.hosts) {
			r.mu.Unlock()
			r.complete()
			return
		}
		next := r.nextWake(now)
		if r.dirty && now.Sub(checkpoint) >= r.e.opts.Checkpoint {
			rec := r.recordLocked()
			r.dirty = false
			r.mu.Unlock()
			r.store(rec)
			checkpoint = now
			continue
		}
		if r.dirty {
			next = min(next, checkpoint.Add(r.e.opts.Checkpoint).Sub(now))
		}
		r.mu.Unlock()

		timer.Reset(max(next, time.Millisecond))
		select {
		case <-r.wake:
		case <-timer.C:
		case <-ctx.Done():
			r.abandon()
			return
		}
	}
}

// announce emits the first event of every host: QUEUED, or OFFLINE for a
// host already known to be offline.
func (r *run) announce() {
	for _, h := range r.pending {
		r.emit(&arcanosv1.PurgeEvent{RunId: r.id, Host: h.id, State: h.state})
	}
	for _, h := range r.hosts {
		if h.state == arcanosv1.HostRunState_HOST_RUN_STATE_OFFLINE {
			r.final++
			r.emit(&arcanosv1.PurgeEvent{RunId: r.id, Host: h.id, State: h.state,
				Detail: "host offline when the run started"})
		}
	}
}

// dispatch starts the hosts whose turn has come; r.mu is held. A real run
// goes in waves: the next wave starts when the last one is done, unless more
// hosts than max_failures failed, which stops the rollout.
func (r *run) dispatch(now time.Time) {
	for len(r.pending) > 0 {
		if r.rolling && r.waveLeft == 0 {
			if r.inflight > 0 {
				return
			}
			if r.failed > r.p.MaxFailures {
				r.stop()
				return
			}
			r.waveLeft = r.waveSize
		}
		h := r.pending[0]
		if h.startAt.After(now) {
			return
		}
		r.pending = r.pending[1:]
		if r.rolling {
			r.waveLeft--
		}
		r.start(h, now)
	}
}

// stop skips every host not dispatched yet, saying why; r.mu is held.
func (r *run) stop() {
	r.stopped = fmt.Sprintf("rollout stopped: %d host(s) failed or refused, more than "+
		"max_failures %d; %d host(s) not started", r.failed, r.p.MaxFailures, len(r.pending))
	r.e.log.Warn("rollout stopped", "run", r.id, "failed", r.failed,
		"max_failures", r.p.MaxFailures, "skipped", len(r.pending))
	for _, h := range r.pending {
		r.set(h, arcanosv1.HostRunState_HOST_RUN_STATE_SKIPPED, r.stopped, nil)
	}
	r.pending = nil
}

// start sends h its command; r.mu is held.
func (r *run) start(h *hostRun, now time.Time) {
	offline := arcanosv1.HostRunState_HOST_RUN_STATE_OFFLINE
	if r.p.Scheduled {
		offline = arcanosv1.HostRunState_HOST_RUN_STATE_MISSED
	}

	doc, err := r.effectiveFor(h)
	if err != nil {
		r.set(h, arcanosv1.HostRunState_HOST_RUN_STATE_FAILED,
			"its effective allowlist is invalid, nothing was sent: "+err.Error(), nil)
		return
	}

	h.deadline = now.Add(r.p.Timeout)
	err = r.e.opts.Hosts.Send(h.id, &arcanosv1.ConnectResponse{Msg: &arcanosv1.ConnectResponse_Run{
		Run: &arcanosv1.RunCommand{
			RunId:            r.id,
			DryRun:           r.p.DryRun,
			Phases:           r.p.Phases,
			AllowlistJson:    doc,
			AllowlistVersion: r.version,
			Deadline:         timestamppb.New(h.deadline),
		},
	}})
	switch {
	case errors.Is(err, registry.ErrOffline):
		r.set(h, offline, "host offline at its start", nil)
		return
	case err != nil:
		r.set(h, arcanosv1.HostRunState_HOST_RUN_STATE_FAILED, "command not delivered: "+err.Error(), nil)
		return
	}

	r.set(h, arcanosv1.HostRunState_HOST_RUN_STATE_RUNNING,
		"command sent; deadline "+h.deadline.UTC().Format(time.RFC3339), nil)
	r.inflight++
	r.running = append(r.running, h)
}

// expiredHost is a host failed at its deadline that had reported phases.
type expiredHost struct {
	id, detail string
}

// expire fails the hosts whose deadline (plus grace) passed without a
// result, and asks their agents to stop; r.mu is held. It returns those
// that had reported phases, whose partial result keepPartials stores.
func (r *run) expire(now time.Time) (expired []expiredHost) {
	for len(r.running) > 0 {
		h := r.running[0]
		if isFinal(h.state) {
			r.running = r.running[1:]
			continue
		}
		if now.Before(h.deadline.Add(r.e.opts.Grace)) {
			return expired
		}
		r.running = r.running[1:]

		detail := "no result by its deadline " + h.deadline.UTC().Format(time.RFC3339)
		if !h.disconnected.IsZero() {
			detail += "; its agent disconnected at " + h.disconnected.UTC().Format(time.RFC3339) +
				" and did not deliver a result"
		}
		// Best effort: an offline agent gets nothing, a connected one stops.
		_ = r.e.opts.Hosts.Send(h.id, &arcanosv1.ConnectResponse{Msg: &arcanosv1.ConnectResponse_Cancel{
			Cancel: &arcanosv1.CancelRun{RunId: r.id, Reason: "deadline passed"},
		}})
		r.set(h, arcanosv1.HostRunState_HOST_RUN_STATE_FAILED, detail, nil)
		if len(h.phases) > 0 {
			expired = append(expired, expiredHost{id: h.id, detail: detail})
		}
	}
	return expired
}

// keepPartials stores, for each host failed at its deadline after it had
// reported phases, a failed result of the controller's own, so that the
// history shows what those phases found (the store adds them to a result
// without phases, and withSummary counts them). A result the agent sent
// meanwhile is never replaced.
func (r *run) keepPartials(ctx context.Context, expired []expiredHost) {
	for _, x := range expired {
		r.e.keepPartial(ctx, r.id, x.id, r.p.DryRun, x.detail)
	}
}

// keepPartial adds a failed result of the controller's own for a host that
// reported phases but no result, unless a result is stored already.
func (e *Engine) keepPartial(ctx context.Context, runID, hostID string, dryRun bool, detail string) {
	res := &arcanosv1.RunResult{RunId: runID, Host: hostID, DryRun: dryRun,
		FinishedAt: timestamppb.Now(), Status: arcanosv1.PhaseStatus_PHASE_STATUS_FAILED,
		Errors: []string{"the controller's account, not the agent's: " + detail +
			"; the phases here are those the agent reported before"}}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := e.withSummary(sctx, runID, hostID, res)
	if err == nil {
		_, err = e.opts.Store.AddResult(sctx, runID, hostID, res)
	}
	if err != nil {
		e.log.Warn("store the partial result of a failed host", "run", runID, "host", hostID, "err", err)
	}
}

// nextWake is how long the driver may sleep; r.mu is held.
func (r *run) nextWake(now time.Time) time.Duration {
	next := time.Hour
	for _, h := range r.running {
		if !isFinal(h.state) {
			next = min(next, h.deadline.Add(r.e.opts.Grace).Sub(now))
			break
		}
	}
	canStart := !r.rolling || r.waveLeft > 0
	if len(r.pending) > 0 && canStart {
		next = min(next, r.pending[0].startAt.Sub(now))
	}
	return next
}

// complete stores the finished run and ends its watches: when a watcher's
// stream ends, the run, its results and its events are all stored.
func (r *run) complete() {
	r.e.events.flush()
	r.mu.Lock()
	r.finishedAt = time.Now()
	rec := r.recordLocked()
	subs := r.subs
	r.subs = map[*Watch]struct{}{}
	r.mu.Unlock()

	r.store(rec)
	r.e.remove(r.id)
	for w := range subs {
		w.end(nil)
	}
	r.e.log.Info("run finished", "run", r.id, "detail", rec.GetDetail(),
		"duration", r.finishedAt.Sub(r.startedAt).Round(time.Millisecond))
}

// abandon stores where the run stands at shutdown; the next start marks it
// interrupted.
func (r *run) abandon() {
	r.mu.Lock()
	rec := r.recordLocked()
	subs := r.subs
	r.subs = map[*Watch]struct{}{}
	r.mu.Unlock()

	r.store(rec)
	r.e.remove(r.id)
	for w := range subs {
		w.end(errors.New("controller shutting down; the run will be marked interrupted"))
	}
}

func (r *run) store(rec *arcanosv1.Run) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.e.opts.Store.UpdateRun(ctx, rec); err != nil {
		r.e.log.Error("store run", "run", r.id, "err", err)
	}
}
