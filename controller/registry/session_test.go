package registry

import (
	"errors"
	"testing"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func TestFullSendQueueDropsOnlyThatAgent(t *testing.T) {
	var slowReason, fastReason error
	slow := NewSession("slow", func(err error) { slowReason = err })
	fast := NewSession("fast", func(err error) { fastReason = err })
	msg := &arcanosv1.ConnectResponse{}

	for i := range SendQueueSize {
		if err := slow.Send(msg); err != nil {
			t.Fatalf("send %d into a queue of %d: %v", i+1, SendQueueSize, err)
		}
	}
	// Nobody drains the slow agent's queue: the next send never waits, it
	// drops the stream.
	if err := slow.Send(msg); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("send into a full queue: %v, want ErrQueueFull", err)
	}
	if !errors.Is(slowReason, ErrQueueFull) {
		t.Fatalf("slow stream dropped with %v, want ErrQueueFull", slowReason)
	}
	select {
	case <-slow.Closed():
	default:
		t.Fatal("slow session not closed")
	}
	if err := slow.Send(msg); !errors.Is(err, ErrOffline) {
		t.Fatalf("send after the drop: %v, want ErrOffline", err)
	}

	if err := fast.Send(msg); err != nil || fastReason != nil {
		t.Fatalf("another agent affected: %v %v", err, fastReason)
	}
}
