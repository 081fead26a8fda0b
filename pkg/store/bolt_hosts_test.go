package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestHostRoundTripAndHeartbeatReplaces(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)

	if _, err := b.GetHost(ctx, "web-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetHost of an unknown host: error = %v, want ErrNotFound", err)
	}
	hosts, err := b.ListHosts(ctx)
	mustDo(t, err)
	if hosts == nil || len(hosts) != 0 {
		t.Fatalf("ListHosts of an empty store = %v, want an empty non-nil slice", hosts)
	}

	h := &arcanosv1.Host{HostId: "web-1", Hostname: "web-1", Online: true, Os: "linux",
		Labels: map[string]string{"role": "web"}, LastSeen: timestamppb.New(t0)}
	mustDo(t, b.PutHost(ctx, h))

	beat := &arcanosv1.Host{HostId: "web-1", Hostname: "web-1", Online: false, Os: "linux",
		Labels: map[string]string{"role": "web"}, LastSeen: timestamppb.New(t0.Add(10e9))}
	mustDo(t, b.PutHost(ctx, beat))

	got, err := b.GetHost(ctx, "web-1")
	mustDo(t, err)
	requireEqual(t, "host after second PutHost", got, beat)
}

func TestListHostsOrderedByIDUnderConcurrentHeartbeats(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)

	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("host-%03d", i)
			errs <- b.PutHost(ctx, &arcanosv1.Host{HostId: id, Hostname: id, Online: true})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		mustDo(t, err)
	}

	hosts, err := b.ListHosts(ctx)
	mustDo(t, err)
	if len(hosts) != n {
		t.Fatalf("ListHosts = %d hosts, want %d", len(hosts), n)
	}
	for i, h := range hosts {
		if want := fmt.Sprintf("host-%03d", i); h.GetHostId() != want {
			t.Fatalf("hosts[%d] = %s, want %s", i, h.GetHostId(), want)
		}
	}
}

func TestPutHostRejectsUnusableID(t *testing.T) {
	b, _ := openTestStore(t)
	for _, id := range []string{"", "bad\x00id"} {
		if err := b.PutHost(t.Context(), &arcanosv1.Host{HostId: id}); err == nil {
			t.Errorf("PutHost with host id %q succeeded", id)
		}
	}
}
