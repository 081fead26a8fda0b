package command

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arcanos-dev/arcanos/pkg/allowlist"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

const badAllowlist = `{
  "authorizedProcess": ["nginx"],
  "authorizedServices": ["nginx", "nginx", ""]
}`

const goodAllowlist = `{
  "authorizedProcesses": ["nginx"],
  "overlays": {"role=web": {"authorizedProcesses": ["node"]}}
}`

// agentProblems are the problem lines the agent prints for data.
func agentProblems(t *testing.T, data, path string) []string {
	t.Helper()
	_, err := allowlist.Parse([]byte(data), path)
	var ve *allowlist.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("the agent accepts %s", data)
	}
	return strings.Split(ve.Error(), "\n")
}

func TestAllowlistValidateReportsTheAgentsProblems(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.json", badAllowlist)
	r := ctl(t, "allowlist", "validate", bad)
	if r.code != ExitUsage || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q", r.code, r.stdout)
	}
	want := agentProblems(t, badAllowlist, bad)
	for _, line := range want {
		if !strings.Contains(r.stderr, "\n  "+line+"\n") {
			t.Errorf("stderr lacks the agent's line %q:\n%s", line, r.stderr)
		}
	}
	if !strings.Contains(r.stderr, "has 3 problem(s)") {
		t.Errorf("stderr: %s", r.stderr)
	}

	r = ctl(t, "allowlist", "validate", bad, "-o", "json")
	var doc struct {
		File     string
		Valid    bool
		Problems []allowlist.Problem
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != ExitUsage || doc.Valid || len(doc.Problems) != 3 ||
		doc.Problems[0].Path != "$.authorizedProcess" || doc.Problems[0].Line != 2 {
		t.Fatalf("json: exit %d, %v, %+v", r.code, err, doc)
	}

	good := writeFile(t, dir, "good.json", goodAllowlist)
	if r := ctl(t, "allowlist", "validate", good); r.code != ExitOK || !strings.Contains(r.stdout, "valid, 1 overlay(s): role=web") {
		t.Fatalf("good: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := ctl(t, "allowlist", "validate", dir+"/missing.json"); r.code != ExitUsage || !strings.Contains(r.stderr, "missing.json") {
		t.Fatalf("missing: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestAllowlistSetValidatesThenSendsWithTheExpectedVersion(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.json", badAllowlist)
	good := writeFile(t, dir, "good.json", goodAllowlist)

	t.Run("an invalid file is never sent", func(t *testing.T) {
		tc := startController(t, &fakeControl{current: &arcanosv1.AllowlistVersion{Version: 5}})
		r := ctl(t, tc.args("allowlist", "set", bad)...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, "nothing was sent") {
			t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
		}
		if calls := tc.fake.called(); len(calls) != 0 {
			t.Fatalf("calls %v", calls)
		}
	})

	t.Run("the current version by default", func(t *testing.T) {
		tc := startController(t, &fakeControl{current: &arcanosv1.AllowlistVersion{Version: 5}})
		r := ctl(t, tc.args("allowlist", "set", good, "--comment", "node on web")...)
		if r.code != ExitOK || !strings.Contains(r.stdout, "allowlist version 6 stored (was 5), by alice: node on web") {
			t.Fatalf("exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
		}
		if calls := tc.fake.called(); !slices.Equal(calls, []string{"GetAllowlist", "SetAllowlist"}) {
			t.Fatalf("calls %v", calls)
		}
		req := tc.fake.setReqs[0]
		if req.GetExpectedVersion() != 5 || string(req.GetDocument()) != goodAllowlist || req.GetComment() != "node on web" {
			t.Fatalf("request %v", req)
		}
	})

	t.Run("no allowlist yet", func(t *testing.T) {
		tc := startController(t, &fakeControl{})
		if r := ctl(t, tc.args("allowlist", "set", good)...); r.code != ExitOK || tc.fake.setReqs[0].GetExpectedVersion() != 0 {
			t.Fatalf("exit %d, stderr %s, requests %v", r.code, r.stderr, tc.fake.setReqs)
		}
	})

	t.Run("--allow-empty is sent, and the refusal says what to do", func(t *testing.T) {
		tc := startController(t, &fakeControl{})
		if r := ctl(t, tc.args("allowlist", "set", good, "--allow-empty")...); r.code != ExitOK ||
			!tc.fake.setReqs[0].GetAllowEmpty() {
			t.Fatalf("exit %d, stderr %s, requests %v", r.code, r.stderr, tc.fake.setReqs)
		}
		tc = startController(t, &fakeControl{setErr: status.Error(codes.InvalidArgument, "allowlist not stored: "+
			"it authorizes nothing, ...; if that is what you want, set it with --allow-empty")})
		r := ctl(t, tc.args("allowlist", "set", good)...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, "--allow-empty") || tc.fake.setReqs[0].GetAllowEmpty() {
			t.Fatalf("exit %d, stderr %s, requests %v", r.code, r.stderr, tc.fake.setReqs)
		}
	})

	t.Run("an explicit version is sent as given", func(t *testing.T) {
		tc := startController(t, &fakeControl{current: &arcanosv1.AllowlistVersion{Version: 5},
			setErr: status.Error(codes.FailedPrecondition, "allowlist is at version 5, not 3 (changed by bob)")})
		r := ctl(t, tc.args("allowlist", "set", good, "--expected-version", "3")...)
		if r.code != ExitFailed || !strings.Contains(r.stderr, "set allowlist: allowlist is at version 5, not 3 (changed by bob)") ||
			!strings.Contains(r.stderr, "arcanosctl allowlist history shows who changed it since version 3") {
			t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
		}
		if calls := tc.fake.called(); !slices.Equal(calls, []string{"SetAllowlist"}) || tc.fake.setReqs[0].GetExpectedVersion() != 3 {
			t.Fatalf("calls %v, requests %v", calls, tc.fake.setReqs)
		}
	})
}

func TestAllowlistGetPrintsTheDocumentByteForByte(t *testing.T) {
	doc := []byte("{\"authorizedProcesses\": [\"nginx\"]}\n")
	tc := startController(t, &fakeControl{current: &arcanosv1.AllowlistVersion{Version: 2, Document: doc, ChangedBy: "bob"}})
	r := ctl(t, tc.args("allowlist", "get")...)
	if r.code != ExitOK || r.stdout != string(doc) || !strings.Contains(r.stderr, "version 2, changed by bob") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	empty := startController(t, &fakeControl{})
	if r := ctl(t, empty.args("allowlist", "get")...); r.code != ExitFailed || !strings.Contains(r.stderr, "allowlist set FILE") {
		t.Fatalf("none yet: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestAllowlistFileWarningsDoNotStopASet(t *testing.T) {
	if _, err := os.Stat("/srv/app/ecosystem.config.js"); err == nil {
		t.Skip("this machine has the file the test expects to be absent")
	}
	dir := t.TempDir()
	p := writeFile(t, dir, "eco.json", `{"pm2Ecosystem": "/srv/app/ecosystem.config.js"}`)
	tc := startController(t, &fakeControl{})
	r := ctl(t, tc.args("allowlist", "set", p)...)
	if r.code != ExitOK || !strings.Contains(r.stderr, "warning:") || !strings.Contains(r.stderr, "read on each host") {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
}
