package registry

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// SendQueueSize bounds the messages waiting to be written to one agent. A
// full queue means the agent does not keep up; its stream is dropped rather
// than letting it slow anyone else.
const SendQueueSize = 64

// ErrOffline says the host has no connected stream.
var ErrOffline = errors.New("host offline")

// ErrQueueFull says the host's send queue was full, so its stream was dropped.
var ErrQueueFull = errors.New("send queue full: agent too slow, stream dropped")

// Session is one connected agent stream. Messages for the agent go through
// its bounded queue, which the stream's writer drains.
type Session struct {
	hostID string
	queue  chan *arcanosv1.ConnectResponse
	drop   func(error)

	lastSeen atomic.Int64 // unix nanoseconds of the last message received
	once     sync.Once
	closed   chan struct{}
}

// NewSession returns a session for hostID whose drop function ends the stream
// with the reason given.
func NewSession(hostID string, drop func(error)) *Session {
	s := &Session{
		hostID: hostID,
		queue:  make(chan *arcanosv1.ConnectResponse, SendQueueSize),
		drop:   drop,
		closed: make(chan struct{}),
	}
	s.Seen(time.Now())
	return s
}

// HostID names the session's host.
func (s *Session) HostID() string { return s.hostID }

// Queue is what the stream's writer sends from.
func (s *Session) Queue() <-chan *arcanosv1.ConnectResponse { return s.queue }

// Closed is closed once the session was dropped.
func (s *Session) Closed() <-chan struct{} { return s.closed }

// Seen records that a message arrived from the agent at t.
func (s *Session) Seen(t time.Time) { s.lastSeen.Store(t.UnixNano()) }

// LastSeen is when the last message arrived from the agent.
func (s *Session) LastSeen() time.Time { return time.Unix(0, s.lastSeen.Load()) }

// Send queues msg for the agent without waiting. When the queue is full the
// session is dropped and ErrQueueFull returned.
func (s *Session) Send(msg *arcanosv1.ConnectResponse) error {
	select {
	case <-s.closed:
		return ErrOffline
	default:
	}
	select {
	case s.queue <- msg:
		return nil
	default:
		s.Drop(ErrQueueFull)
		return ErrQueueFull
	}
}

// Drop ends the session's stream with reason; later calls do nothing.
func (s *Session) Drop(reason error) {
	s.once.Do(func() {
		close(s.closed)
		s.drop(reason)
	})
}
