package command

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func fleetFake() *fakeControl {
	run := &arcanosv1.Run{RunId: runID, StartedBy: "alice", StartedAt: timestamppb.Now(), DryRun: true,
		Selector: &arcanosv1.Selector{Hosts: "web-*"}, AllowlistVersion: 3,
		Hosts: map[string]arcanosv1.HostRunState{
			"web-1": arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED,
			"web-2": arcanosv1.HostRunState_HOST_RUN_STATE_OFFLINE,
		}}
	return &fakeControl{
		hosts: []*arcanosv1.Host{
			{HostId: "web-1", Hostname: "web-1", Online: true, Labels: map[string]string{"role": "web", "env": "prod"},
				AgentVersion: "v0.3.0", Os: "debian 12", LastSeen: timestamppb.Now()},
			{HostId: "db-1", Hostname: "db-1", RealPurgesAllowed: true},
		},
		runs: []*arcanosv1.Run{run},
		run: &arcanosv1.GetRunResponse{Run: run, Results: []*arcanosv1.RunResult{hostResult("web-1", ok, "xmrig")},
			HostDetails: map[string]string{"web-2": "offline when the run started"}},
		diff: &arcanosv1.DiffRunsResponse{RunId: runID, BaseRunId: "run-41", Changes: []*arcanosv1.FindingChange{
			{Host: "web-2", Phase: "startup", Change: "gone", Finding: &arcanosv1.Finding{Kind: "cron", Subject: "@reboot /tmp/x",
				Verdict: arcanosv1.Verdict_VERDICT_UNAUTHORIZED}},
			{Host: "web-1", Phase: "detect", Change: "new", Finding: &arcanosv1.Finding{Kind: "process", Subject: "xmrig",
				Verdict: arcanosv1.Verdict_VERDICT_UNAUTHORIZED, Reason: "not in authorizedProcesses"}},
		}, NotCompared: []*arcanosv1.PhaseNotCompared{{Host: "web-1", Phase: "startup", Reason: "skipped in run-42"}}},
		schedules: []*arcanosv1.Schedule{{Name: "nightly", Cron: "0 3 * * *", DryRun: true, SpreadSeconds: 600,
			Selector: &arcanosv1.Selector{Hosts: "*"}}},
	}
}

func TestReadCommandsPrintTablesAndProtojson(t *testing.T) {
	fake := fleetFake()
	tc := startController(t, fake)
	cases := []struct {
		args  []string
		table []string
		json  proto.Message // what -o json must decode to
		empty proto.Message
	}{
		{[]string{"hosts", "list"},
			[]string{"HOST", "web-1  online", "env=prod,role=web", "v0.3.0", "db-1   offline  never", "allowed"},
			&arcanosv1.ListHostsResponse{Hosts: fake.hosts}, &arcanosv1.ListHostsResponse{}},
		{[]string{"runs", "list"},
			[]string{"RUN", runID, "alice", "dry run", "hosts=web-*", "1 finished, 1 offline"},
			&arcanosv1.ListRunsResponse{Runs: fake.runs}, &arcanosv1.ListRunsResponse{}},
		{[]string{"runs", "show", runID},
			[]string{"started", "by alice", "allowlist  version 3", "web-1  finished", "web-2  offline", "xmrig", "Not completed:",
				"web-2  offline: offline when the run started"},
			fake.run, &arcanosv1.GetRunResponse{}},
		{[]string{"runs", "diff", runID},
			[]string{"drift of run run-42 against run run-41", "web-1\n  + new", "xmrig", "web-2\n  - gone", "@reboot /tmp/x",
				"1 new, 1 gone on 2 host(s)", "not compared (1 phase(s)", "web-1  startup  skipped in run-42"},
			fake.diff, &arcanosv1.DiffRunsResponse{}},
		{[]string{"schedules", "list"},
			[]string{"nightly", "0 3 * * *", "hosts=*", "dry run", "10m0s"},
			&arcanosv1.ListSchedulesResponse{Schedules: fake.schedules}, &arcanosv1.ListSchedulesResponse{}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			r := ctl(t, tc.args(c.args...)...)
			if r.code != ExitOK {
				t.Fatalf("exit %d; stderr %s", r.code, r.stderr)
			}
			for _, w := range c.table {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("table lacks %q:\n%s", w, r.stdout)
				}
			}

			r = ctl(t, tc.args(append(c.args, "-o", "json")...)...)
			got := c.empty
			if err := protojson.Unmarshal([]byte(r.stdout), got); err != nil || r.code != ExitOK {
				t.Fatalf("-o json: exit %d, %v:\n%s", r.code, err, r.stdout)
			}
			if !proto.Equal(got, c.json) {
				t.Errorf("-o json decodes to\n%v\nwant\n%v", got, c.json)
			}
		})
	}
}

func TestRunsShowsAControllerErrorAsItsMessage(t *testing.T) {
	tc := startController(t, fleetFake())
	r := ctl(t, tc.args("runs", "show", "nope")...)
	if r.code != ExitFailed || strings.TrimSpace(r.stderr) != `arcanosctl: show run nope: no run "nope"` {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if r := ctl(t, tc.args("runs", "show")...); r.code != ExitUsage {
		t.Errorf("runs show without an id: exit %d", r.code)
	}
}

func TestRunsDiffSendsTheBaseRun(t *testing.T) {
	fake := fleetFake()
	tc := startController(t, fake)
	ctl(t, tc.args("runs", "diff", runID)...)
	ctl(t, tc.args("runs", "diff", runID, "run-7")...)
	if len(fake.diffReqs) != 2 || fake.diffReqs[0].GetBaseRunId() != "" || fake.diffReqs[1].GetBaseRunId() != "run-7" {
		t.Fatalf("diff requests %v", fake.diffReqs)
	}
}

func TestTokenCreatePrintsTheEnrollCommand(t *testing.T) {
	fake := fleetFake()
	tc := startController(t, fake)
	r := ctl(t, tc.args("token", "create", "--ttl", "15m", "--hostname", "web-4", "--agent-address", "ctl.example.net:7443")...)
	if r.code != ExitOK {
		t.Fatalf("exit %d; stderr %s", r.code, r.stderr)
	}
	want := "arcanos-agent enroll --controller ctl.example.net:7443 --token arc1.secret --ca-fingerprint sha256:abab"
	if !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "--hostname web-4") {
		t.Errorf("stdout lacks the enroll command %q:\n%s", want, r.stdout)
	}
	req := fake.tokenReqs[0]
	if req.GetTtlSeconds() != 900 || req.GetHostname() != "web-4" {
		t.Errorf("request %v", req)
	}

	if r := ctl(t, tc.args("token", "create", "--ttl", "0s")...); r.code != ExitUsage {
		t.Errorf("--ttl 0s: exit %d", r.code)
	}
	if r := ctl(t, tc.args("token", "create")...); !strings.Contains(r.stdout, "only reachable from this machine") {
		t.Errorf("a unix socket address printed without a note:\n%s", r.stdout)
	}
}

func TestEveryCommandHasHelpWithExamples(t *testing.T) {
	a := &app{stdout: &strings.Builder{}, stderr: &strings.Builder{}}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Runnable() && !c.HasSubCommands() && c.Name() != "help" && !strings.HasPrefix(c.CommandPath(), "arcanosctl completion") {
			if c.Example == "" {
				t.Errorf("%s has no examples", c.CommandPath())
			}
			if c.Short == "" {
				t.Errorf("%s has no short help", c.CommandPath())
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	root := a.newRoot()
	root.InitDefaultCompletionCmd()
	walk(root)

	r := ctl(t, "purge", "--help")
	for _, w := range []string{"Exit codes:", "3  purge: unauthorized", "4  purge: some hosts", "--dry-run", "--batch", "Examples:"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("purge --help lacks %q", w)
		}
	}
	if r := ctl(t, "completion", "bash"); r.code != ExitOK || !strings.Contains(r.stdout, "__start_arcanosctl") {
		t.Errorf("completion bash: exit %d", r.code)
	}
	if r := ctl(t, "runs", "frobnicate"); r.code != ExitUsage {
		t.Errorf("unknown subcommand: exit %d", r.code)
	}
}

func TestRunsShowCapsTheUnauthorizedList(t *testing.T) {
	fake := fleetFake()
	fake.run.Results = []*arcanosv1.RunResult{hostResult("web-1", ok, "miner-1", "miner-2", "miner-3")}
	tc := startController(t, fake)
	r := ctl(t, tc.args("runs", "show", runID, "--max-findings", "1")...)
	if r.code != ExitOK || !strings.Contains(r.stdout, "miner-1") || strings.Contains(r.stdout, "miner-3") ||
		!strings.Contains(r.stdout, "… and 2 more") {
		t.Fatalf("exit %d, stdout:\n%s", r.code, r.stdout)
	}
	if r := ctl(t, tc.args("runs", "show", runID, "--max-findings", "0")...); !strings.Contains(r.stdout, "miner-3") {
		t.Errorf("--max-findings 0 must list every finding:\n%s", r.stdout)
	}
	if r := ctl(t, tc.args("runs", "show", runID, "--max-findings", "-1")...); r.code != ExitUsage {
		t.Errorf("--max-findings -1: exit %d", r.code)
	}
}
