package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// TestEnrollmentRefusesBadTokens enrolls real agents with tokens that must
// not work: expired, already used, bound to another host name, or shown to
// a controller whose CA is not the pinned one. Each is refused with exit 1
// and an error that says what is wrong, writes no credentials and enrolls
// no host; a token refused for the wrong host name or fingerprint is not
// used up.
func TestEnrollmentRefusesBadTokens(t *testing.T) {
	t.Parallel()
	c := startController(t, controllerOpts{})
	// No agent runs here: enrollment needs no PID namespace.

	newAgent := func(host string) *agent {
		return &agent{t: t, c: c, host: host, stateDir: filepath.Join(c.dir, "agents", host)}
	}
	refused := func(t *testing.T, a *agent, res result, says ...string) {
		t.Helper()
		if res.code != 1 {
			t.Fatalf("enroll %s: want exit 1 (refused): %s", a.host, res)
		}
		for _, s := range says {
			if !strings.Contains(res.stderr, s) {
				t.Errorf("enroll %s: the error does not say %q:\n%s", a.host, s, res.stderr)
			}
		}
		if _, err := os.Stat(filepath.Join(a.stateDir, "agent.crt")); err == nil {
			t.Errorf("enroll %s was refused but wrote a certificate", a.host)
		}
		if _, ok := c.hosts()[a.host]; ok {
			t.Errorf("enroll %s was refused but the host is listed", a.host)
		}
	}

	t.Run("expired", func(t *testing.T) {
		res := c.ctl("token", "create", "--ttl", "1s", "--hostname", "web-1", "-o", "json")
		tok := &arcanosv1.CreateEnrollmentTokenResponse{}
		if res.code != 0 || protojson.Unmarshal([]byte(res.stdout), tok) != nil {
			t.Fatalf("token create --ttl 1s: %s", res)
		}
		// Wait past the expiry the controller gave (its clock is this machine's).
		time.Sleep(time.Until(tok.GetExpiresAt().AsTime()) + 500*time.Millisecond)
		a := newAgent("web-1")
		refused(t, a, a.enrollWith(tok.GetToken(), tok.GetCaFingerprint()), "expired", "create a new token")
	})

	t.Run("reused", func(t *testing.T) {
		token, fp := c.token()
		first := newAgent("web-2")
		if res := first.enrollWith(token, fp); res.code != 0 {
			t.Fatalf("first use of the token: %s", res)
		}
		a := newAgent("web-3")
		refused(t, a, a.enrollWith(token, fp), "already used by web-2")
	})

	t.Run("bound to another host", func(t *testing.T) {
		token, fp := c.token("--hostname", "web-4")
		a := newAgent("web-5")
		refused(t, a, a.enrollWith(token, fp), "web-4")
		// The refusal did not use the token up: its own host enrolls with it.
		if res := newAgent("web-4").enrollWith(token, fp); res.code != 0 {
			t.Fatalf("enroll web-4 with its own token after a refused use: %s", res)
		}
	})

	t.Run("unpinned controller", func(t *testing.T) {
		token, fp := c.token("--hostname", "web-6")
		a := newAgent("web-6")
		other := "sha256:" + strings.Repeat("0", 64)
		refused(t, a, a.enrollWith(token, other), other)
		// The token never reached a trusted controller: it still works.
		if res := a.enrollWith(token, fp); res.code != 0 {
			t.Fatalf("enroll with the right fingerprint after a refused one: %s", res)
		}
		if _, ok := c.hosts()["web-6"]; !ok {
			t.Errorf("web-6 enrolled but is not listed")
		}
	})
}
