// Package registry is the controller's view of its hosts: which are
// enrolled, which are online through which stream, when each was last seen,
// and their labels and agent versions. Hosts are kept in the store; streams
// and last-seen times live in memory, so a heartbeat costs no write.
package registry

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// HostStore is the part of the store the registry uses.
type HostStore interface {
	PutHost(ctx context.Context, h *arcanosv1.Host) error
	ListHosts(ctx context.Context) ([]*arcanosv1.Host, error)
}

type entry struct {
	host *arcanosv1.Host // as last stored; online and last_seen filled on read
	sess *Session
}

// Registry tracks every enrolled host and its stream. It is safe for
// concurrent use.
type Registry struct {
	store HostStore
	log   *slog.Logger

	mu    sync.RWMutex
	hosts map[string]*entry
}

// New loads the stored hosts, all offline until their agent connects.
func New(ctx context.Context, st HostStore, log *slog.Logger) (*Registry, error) {
	stored, err := st.ListHosts(ctx)
	if err != nil {
		return nil, fmt.Errorf("load hosts: %w", err)
	}
	r := &Registry{store: st, log: log, hosts: make(map[string]*entry, len(stored))}
	for _, h := range stored {
		h.Online = false
		r.hosts[h.GetHostId()] = &entry{host: h}
	}
	return r, nil
}

// Enrolled registers a newly enrolled host (or re-enrolled one, keeping
// what was known of it) with the labels it asked for.
func (r *Registry) Enrolled(ctx context.Context, hostID string, labels map[string]string) error {
	r.mu.Lock()
	e, ok := r.hosts[hostID]
	if !ok {
		e = &entry{host: &arcanosv1.Host{HostId: hostID, Hostname: hostID}}
		r.hosts[hostID] = e
	}
	h := proto.Clone(e.host).(*arcanosv1.Host)
	h.Labels = maps.Clone(labels)
	e.host = h
	h = r.view(e)
	r.mu.Unlock()

	if err := r.store.PutHost(ctx, h); err != nil {
		return fmt.Errorf("register host %s: %w", hostID, err)
	}
	return nil
}

// Attach makes sess the host's stream, taking its details from hello. An
// older stream of the same host is dropped: the newest connection wins.
func (r *Registry) Attach(ctx context.Context, sess *Session, hello *arcanosv1.Hello) error {
	now := time.Now()
	h := &arcanosv1.Host{
		HostId:            sess.HostID(),
		Hostname:          hello.GetHostname(),
		Labels:            maps.Clone(hello.GetLabels()),
		Online:            true,
		LastSeen:          timestamppb.New(now),
		AgentVersion:      hello.GetAgentVersion(),
		Os:                hello.GetOs(),
		RealPurgesAllowed: hello.GetRealPurgesAllowed(),
	}
	if h.Hostname == "" {
		h.Hostname = sess.HostID()
	}

	r.mu.Lock()
	var old *Session
	if e, ok := r.hosts[sess.HostID()]; ok {
		old = e.sess
		// Labels choose overlays and selections, so they are the ones
		// given at enrollment, under a token; an agent cannot change them
		// by saying others in its hello. Re-enroll to change them.
		enrolled := e.host.GetLabels()
		if !maps.Equal(enrolled, h.Labels) {
			r.log.Warn("agent reports labels other than those enrolled; keeping the enrolled ones",
				"host", sess.HostID())
		}
		h.Labels = maps.Clone(enrolled)
	}
	r.hosts[sess.HostID()] = &entry{host: h, sess: sess}
	r.mu.Unlock()

	if old != nil {
		old.Drop(fmt.Errorf("replaced by a newer stream of host %s", sess.HostID()))
	}
	if err := r.store.PutHost(ctx, h); err != nil {
		return fmt.Errorf("store host %s online: %w", sess.HostID(), err)
	}
	return nil
}

// Detach marks the host offline when sess is still its stream, and reports
// whether it did (false: a newer stream replaced sess).
func (r *Registry) Detach(ctx context.Context, sess *Session) bool {
	r.mu.Lock()
	e, ok := r.hosts[sess.HostID()]
	if !ok || e.sess != sess {
		r.mu.Unlock()
		return false
	}
	e.sess = nil
	h := proto.Clone(e.host).(*arcanosv1.Host)
	h.Online = false
	h.LastSeen = timestamppb.New(sess.LastSeen())
	e.host = h
	r.mu.Unlock()

	if err := r.store.PutHost(ctx, h); err != nil {
		r.log.Warn("store host offline", "host", sess.HostID(), "err", err)
	}
	return true
}

// Session returns the host's stream, or nil when it is offline.
func (r *Registry) Session(hostID string) *Session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if e, ok := r.hosts[hostID]; ok {
		return e.sess
	}
	return nil
}

// Send queues msg for the host's agent without waiting: ErrOffline when it
// has no stream, ErrQueueFull (and the stream dropped) when it lags.
func (r *Registry) Send(hostID string, msg *arcanosv1.ConnectResponse) error {
	sess := r.Session(hostID)
	if sess == nil {
		return ErrOffline
	}
	return sess.Send(msg)
}

// Hosts returns a copy of every host, ordered by host id, with its current
// online state and last-seen time.
func (r *Registry) Hosts() []*arcanosv1.Host {
	r.mu.RLock()
	out := make([]*arcanosv1.Host, 0, len(r.hosts))
	for _, e := range r.hosts {
		out = append(out, r.view(e))
	}
	r.mu.RUnlock()

	slices.SortFunc(out, func(a, b *arcanosv1.Host) int {
		switch {
		case a.GetHostId() < b.GetHostId():
			return -1
		case a.GetHostId() > b.GetHostId():
			return 1
		}
		return 0
	})
	return out
}

// Host returns a copy of one host, or nil when it is not enrolled.
func (r *Registry) Host(hostID string) *arcanosv1.Host {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if e, ok := r.hosts[hostID]; ok {
		return r.view(e)
	}
	return nil
}

// DropAll ends every stream with reason.
func (r *Registry) DropAll(reason error) {
	r.mu.RLock()
	var online []*Session
	for _, e := range r.hosts {
		if e.sess != nil {
			online = append(online, e.sess)
		}
	}
	r.mu.RUnlock()
	for _, s := range online {
		s.Drop(reason)
	}
}

// Close stores every online host as offline with its last-seen time; the
// controller calls it once no stream is served any more.
func (r *Registry) Close(ctx context.Context) {
	r.mu.RLock()
	var online []*Session
	for _, e := range r.hosts {
		if e.sess != nil {
			online = append(online, e.sess)
		}
	}
	r.mu.RUnlock()
	for _, s := range online {
		r.Detach(ctx, s)
	}
}

// view copies e's host with its live state; r.mu is held.
func (r *Registry) view(e *entry) *arcanosv1.Host {
	h := proto.Clone(e.host).(*arcanosv1.Host)
	h.Online = e.sess != nil
	if e.sess != nil {
		h.LastSeen = timestamppb.New(e.sess.LastSeen())
	}
	return h
}
