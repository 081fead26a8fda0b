package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/testbed"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// partitionFor is how long the network between agent and controller stays
// cut.
const partitionFor = time.Minute

// netPair is two network namespaces this test created, joined by a veth
// pair made inside them: the host's own namespace and interfaces are never
// touched.
type netPair struct {
	t                  *testing.T
	ctlNS, agentNS     string
	ctlLink, agentLink string
	ctlIP              string
}

// newNetPair creates the namespaces and the link, with 10.213.N.1 on the
// controller's side and 10.213.N.2 on the agent's, and deletes both
// namespaces (and so the link) in t.Cleanup.
func newNetPair(t *testing.T) *netPair {
	t.Helper()
	testbed.RequireRoot(t)
	testbed.RequireCommand(t, "ip")
	var b [2]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	id := hex.EncodeToString(b[:])
	n := &netPair{t: t,
		ctlNS: "arcanos-e2e-" + id + "-ctl", agentNS: "arcanos-e2e-" + id + "-agent",
		ctlLink: "arc" + id + "c", agentLink: "arc" + id + "a",
		ctlIP: fmt.Sprintf("10.213.%d.1", b[0]),
	}
	agentIP := fmt.Sprintf("10.213.%d.2", b[0])

	for _, ns := range []string{n.ctlNS, n.agentNS} {
		n.ip("netns", "add", ns)
		t.Cleanup(func() { n.ipQuiet("netns", "del", ns) })
	}
	n.ip("-n", n.ctlNS, "link", "add", n.ctlLink, "type", "veth", "peer", "name", n.agentLink, "netns", n.agentNS)
	n.ip("-n", n.ctlNS, "addr", "add", n.ctlIP+"/30", "dev", n.ctlLink)
	n.ip("-n", n.agentNS, "addr", "add", agentIP+"/30", "dev", n.agentLink)
	for _, l := range []struct{ ns, link string }{
		{n.ctlNS, "lo"}, {n.ctlNS, n.ctlLink}, {n.agentNS, "lo"}, {n.agentNS, n.agentLink},
	} {
		n.ip("-n", l.ns, "link", "set", l.link, "up")
	}
	return n
}

func (n *netPair) ip(args ...string) {
	n.t.Helper()
	if res := run(n.t, nil, append([]string{"ip"}, args...)...); res.code != 0 {
		n.t.Fatalf("ip %s: %s", strings.Join(args, " "), res)
	}
}

func (n *netPair) ipQuiet(args ...string) {
	if res := run(n.t, nil, append([]string{"ip"}, args...)...); res.code != 0 {
		n.t.Logf("cleanup: ip %s: %s", strings.Join(args, " "), res)
	}
}

// cut takes the controller's end of the link down: the agent's end stays up
// and its packets vanish without an error, as in a real partition. heal
// brings it back.
func (n *netPair) cut()  { n.ip("-n", n.ctlNS, "link", "set", n.ctlLink, "down") }
func (n *netPair) heal() { n.ip("-n", n.ctlNS, "link", "set", n.ctlLink, "up") }

// TestPartitionHealsAndTheAgentComesBack runs the controller and an agent in
// two network namespaces joined by a veth pair, and cuts the link for a
// minute: the controller marks the host offline (a run then reports it
// OFFLINE), and after the link comes back the agent reconnects on a new
// stream and a later run reaches it.
func TestPartitionHealsAndTheAgentComesBack(t *testing.T) {
	t.Parallel()
	testbed.RequireUnshare(t)
	n := newNetPair(t)
	// The controller listens on every address of its namespace: arcanosctl
	// reaches it on that namespace's loopback, which the partition leaves
	// alone; the agent on the veth address.
	c := startController(t, controllerOpts{listen: "0.0.0.0:7443", netns: n.ctlNS,
		args: []string{"--server-name", n.ctlIP, "--heartbeat-interval", "2s", "--heartbeat-missed", "3"}})
	a := c.startAgent("web-1", agentOpts{labels: "role=web", netns: n.agentNS, controller: n.ctlIP + ":7443"})
	c.waitOnline(time.Minute, map[string]bool{"web-1": true})

	if res, evs := c.purge("--hosts", "web-1", "--dry-run", "--phases", "health"); res.code != 0 {
		t.Fatalf("a dry run before the partition: %s (%d events)", res, len(evs))
	}

	cutAt := time.Now()
	n.cut()
	c.waitOnline(time.Minute, map[string]bool{"web-1": false})

	res, evs := c.purge("--hosts", "web-1", "--dry-run", "--phases", "health")
	states, details := finalStates(evs)
	if res.code != 4 || states["web-1"] != arcanosv1.HostRunState_HOST_RUN_STATE_OFFLINE {
		t.Errorf("a dry run during the partition: web-1 %s (%s), want OFFLINE and exit 4: %s",
			states["web-1"], details["web-1"], res)
	}

	time.Sleep(time.Until(cutAt.Add(partitionFor)))
	n.heal()
	c.waitOnline(3*time.Minute, map[string]bool{"web-1": true})

	res, evs = c.purge("--hosts", "web-1", "--dry-run", "--phases", "detect,health")
	states, details = finalStates(evs)
	if res.code != 0 || states["web-1"] != arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED {
		t.Errorf("a dry run after the partition healed: web-1 %s (%s), want FINISHED and exit 0: %s",
			states["web-1"], details["web-1"], res)
	}
	if got := strings.Count(a.proc.log(), `msg="connected to controller"`); got < 2 {
		t.Errorf("the agent connected %d time(s); want a new stream after the partition:\n%s",
			got, tail(a.proc.logPath, 20))
	}
}
