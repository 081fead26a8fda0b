package dispatch

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/arcanos-dev/arcanos/pkg/store"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// fleetHosts is a registry of online hosts whose agents take every command
// at once; sent is done once every host got one.
type fleetHosts struct {
	hosts []*arcanosv1.Host
	sent  sync.WaitGroup
}

func newFleetHosts(n int) *fleetHosts {
	f := &fleetHosts{}
	for i := range n {
		id := fmt.Sprintf("host-%05d", i)
		f.hosts = append(f.hosts, &arcanosv1.Host{HostId: id, Hostname: id, Online: true})
	}
	f.sent.Add(n)
	return f
}

func (f *fleetHosts) Hosts() []*arcanosv1.Host { return f.hosts }

func (f *fleetHosts) Send(_ string, msg *arcanosv1.ConnectResponse) error {
	if msg.GetRun() != nil {
		f.sent.Done()
	}
	return nil
}

// A run over thousands of hosts emits two events per host (QUEUED, then
// RUNNING as its command goes out) in one burst at its start, before an
// operator's stream can have sent many of them: the watch must hold that
// burst, or a healthy operator is cut off from every large run.
func TestWatchHoldsTheStartOfALargeRun(t *testing.T) {
	const hosts = 6000 // 12,000 events in the start burst
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "arcanos.db"), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	fleet := newFleetHosts(hosts)
	e := New(Options{Store: st, Hosts: fleet, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(e.Close)

	_, w, err := e.Start(t.Context(), Request{Selector: &arcanosv1.Selector{Hosts: "*"}, DryRun: true,
		StartedBy: "test"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	fleet.sent.Wait() // every command sent; nothing read from the watch yet

	counts := map[arcanosv1.HostRunState]int{}
	for len(counts) < 2 || counts[arcanosv1.HostRunState_HOST_RUN_STATE_RUNNING] < hosts {
		ev, ok := <-w.Events()
		if !ok {
			t.Fatalf("watch ended after %v: %v", counts, w.Err())
		}
		counts[ev.GetState()]++
	}
	if counts[arcanosv1.HostRunState_HOST_RUN_STATE_QUEUED] != hosts {
		t.Errorf("events %v, want %d QUEUED and %d RUNNING", counts, hosts, hosts)
	}
}
