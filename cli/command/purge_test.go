package command

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/arcanos-dev/arcanos/pkg/phases"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

const runID = "run-42"

func event(host string, state arcanosv1.HostRunState, detail string) *arcanosv1.PurgeEvent {
	return &arcanosv1.PurgeEvent{RunId: runID, Host: host, State: state, Detail: detail}
}

// hostResult is a finished run with one detect phase holding an authorized
// nginx and the unauthorized subjects given.
func hostResult(host string, runStatus arcanosv1.PhaseStatus, unauthorized ...string) *arcanosv1.RunResult {
	detect := &arcanosv1.PhaseResult{Name: "detect", Status: arcanosv1.PhaseStatus_PHASE_STATUS_OK,
		Findings: []*arcanosv1.Finding{{Kind: "process", Subject: "nginx", Verdict: arcanosv1.Verdict_VERDICT_AUTHORIZED}}}
	for _, s := range unauthorized {
		detect.Findings = append(detect.Findings, &arcanosv1.Finding{
			Kind: "process", Subject: s, Verdict: arcanosv1.Verdict_VERDICT_UNAUTHORIZED, Reason: "not in authorizedProcesses"})
	}
	terminate := &arcanosv1.PhaseResult{Name: "terminate", Status: arcanosv1.PhaseStatus_PHASE_STATUS_OK}
	for _, s := range unauthorized {
		terminate.Actions = append(terminate.Actions, &arcanosv1.Action{Kind: "signal", Target: s,
			State: arcanosv1.ActionState_ACTION_STATE_PLANNED})
	}
	return &arcanosv1.RunResult{RunId: runID, Host: host, DryRun: true, Status: runStatus,
		Phases: []*arcanosv1.PhaseResult{detect, terminate}}
}

// finishedHost is the events of a host that ran detect and terminate.
func finishedHost(host string, res *arcanosv1.RunResult) []*arcanosv1.PurgeEvent {
	evs := []*arcanosv1.PurgeEvent{
		event(host, arcanosv1.HostRunState_HOST_RUN_STATE_QUEUED, ""),
		event(host, arcanosv1.HostRunState_HOST_RUN_STATE_RUNNING, ""),
	}
	for _, p := range res.GetPhases() {
		e := event(host, arcanosv1.HostRunState_HOST_RUN_STATE_PHASE_DONE, "")
		e.Phase = p
		evs = append(evs, e)
	}
	done := event(host, arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED, "")
	done.Result = res
	return append(evs, done)
}

func concat(groups ...[]*arcanosv1.PurgeEvent) []*arcanosv1.PurgeEvent {
	return slices.Concat(groups...)
}

var (
	ok     = arcanosv1.PhaseStatus_PHASE_STATUS_OK
	failed = arcanosv1.PhaseStatus_PHASE_STATUS_FAILED
)

func TestPurgeRefusesBadUsageBeforeCallingTheController(t *testing.T) {
	tc := startController(t, &fakeControl{})
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"neither dry run nor apply", []string{"--hosts", "web-*"}, "exactly one of --dry-run"},
		{"both dry run and apply", []string{"--hosts", "web-*", "--dry-run", "--apply"}, "exactly one of --dry-run"},
		{"batch of zero hosts", []string{"--hosts", "web-*", "--apply", "--batch", "0"}, "--batch"},
		{"batch not a number", []string{"--hosts", "web-*", "--apply", "--batch", "ten"}, "--batch"},
		{"batch over 100%", []string{"--hosts", "web-*", "--apply", "--batch", "150%"}, "between 1% and 100%"},
		{"label without value", []string{"--labels", "role", "--dry-run"}, "key=value"},
		{"no selector", []string{"--dry-run"}, "--hosts or --labels"},
		{"bad glob", []string{"--hosts", "web-[", "--dry-run"}, "invalid glob"},
		{"unknown phase", []string{"--hosts", "a", "--dry-run", "--phases", "detect,nuke"}, `unknown phase "nuke"`},
		{"phase twice", []string{"--hosts", "a", "--dry-run", "--phases", "detect,detect"}, "given twice"},
		{"negative max failures", []string{"--hosts", "a", "--apply", "--max-failures", "-1"}, "--max-failures"},
		{"sub-second timeout", []string{"--hosts", "a", "--dry-run", "--timeout", "500ms"}, "at least 1s"},
		{"positional argument", []string{"web-1", "--dry-run"}, "unknown command"},
		{"unknown flag", []string{"--hosts", "a", "--dry-run", "--force"}, "unknown flag"},
		{"unknown output", []string{"--hosts", "a", "--dry-run", "-o", "yaml"}, `-o "yaml"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ctl(t, tc.args(append([]string{"purge"}, c.args...)...)...)
			if r.code != ExitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", r.code, ExitUsage, r.stderr)
			}
			if !strings.Contains(r.stderr, c.want) {
				t.Errorf("stderr lacks %q: %s", c.want, r.stderr)
			}
		})
	}
	if calls := tc.fake.called(); len(calls) != 0 {
		t.Errorf("the controller was called despite bad usage: %v", calls)
	}
}

func TestPurgeSendsTheRequestTheFlagsDescribe(t *testing.T) {
	fake := &fakeControl{events: finishedHost("web-1", hostResult("web-1", ok))}
	tc := startController(t, fake)
	r := ctl(t, tc.args("purge", "--hosts", "web-*,!web-3", "--labels", "role=web,env=prod", "--apply",
		"--phases", "detect, startup", "--batch", "10%", "--max-failures", "2", "--timeout", "90s")...)
	if r.code != ExitOK {
		t.Fatalf("exit %d; stderr: %s", r.code, r.stderr)
	}
	want := &arcanosv1.StartPurgeRequest{
		Selector:    &arcanosv1.Selector{Hosts: "web-*,!web-3", Labels: map[string]string{"role": "web", "env": "prod"}},
		DryRun:      false,
		Phases:      []string{"detect", "startup"},
		Batch:       "10%",
		MaxFailures: 2, TimeoutSeconds: 90,
	}
	if len(fake.purgeReqs) != 1 || !proto.Equal(fake.purgeReqs[0], want) {
		t.Fatalf("request %v, want %v", fake.purgeReqs, want)
	}
	if !slices.Equal(fake.operators, []string{"alice"}) {
		t.Errorf("the controller saw operators %v, want the config's certificate (alice)", fake.operators)
	}
}

func TestPurgeExitCodes(t *testing.T) {
	cases := []struct {
		name      string
		events    []*arcanosv1.PurgeEvent
		startErr  error
		streamErr error
		code      int
		stderr    []string
	}{
		{name: "every host authorized",
			events: concat(finishedHost("web-1", hostResult("web-1", ok)), finishedHost("web-2", hostResult("web-2", ok))),
			code:   ExitOK, stderr: []string{"2 host(s): 2 finished; no unauthorized findings"}},
		{name: "unauthorized findings",
			events: concat(finishedHost("web-1", hostResult("web-1", ok, "xmrig")), finishedHost("web-2", hostResult("web-2", ok))),
			code:   ExitUnauthorized, stderr: []string{"Unauthorized:", "xmrig", "1 unauthorized finding(s) on 1 host(s)"}},
		{name: "an offline host outranks unauthorized findings",
			events: concat(finishedHost("web-1", hostResult("web-1", ok, "xmrig")),
				[]*arcanosv1.PurgeEvent{event("web-2", arcanosv1.HostRunState_HOST_RUN_STATE_OFFLINE, "not connected since 10:02")}),
			code: ExitIncomplete, stderr: []string{"Not completed:", "web-2  offline: not connected since 10:02"}},
		{name: "a host refused the real purge",
			events: []*arcanosv1.PurgeEvent{event("db-1", arcanosv1.HostRunState_HOST_RUN_STATE_REFUSED, "real purges are not allowed on this host")},
			code:   ExitIncomplete, stderr: []string{"db-1  refused: real purges are not allowed"}},
		{name: "a rollout stopped and skipped a host",
			events: concat(finishedHost("web-1", hostResult("web-1", ok)), []*arcanosv1.PurgeEvent{
				event("web-2", arcanosv1.HostRunState_HOST_RUN_STATE_FAILED, "stream dropped mid-run"),
				event("web-3", arcanosv1.HostRunState_HOST_RUN_STATE_SKIPPED, "rollout stopped"),
				event("", arcanosv1.HostRunState_HOST_RUN_STATE_UNSPECIFIED, "rollout stopped: 1 host failed, more than --max-failures 0"),
			}),
			code: ExitIncomplete, stderr: []string{"web-3  skipped", "note: rollout stopped: 1 host failed"}},
		{name: "a host finished with a failed run",
			events: finishedHost("web-1", hostResult("web-1", failed)),
			code:   ExitIncomplete, stderr: []string{"finished (incomplete)"}},
		{name: "the stream ended with a host still running",
			events: finishedHost("web-1", hostResult("web-1", ok))[:3],
			code:   ExitIncomplete, stderr: []string{"web-1  running"}},
		{name: "the event stream broke",
			events:    finishedHost("web-1", hostResult("web-1", ok))[:2],
			streamErr: status.Error(codes.Internal, "controller shutting down"),
			code:      ExitFailed, stderr: []string{"run run-42: the event stream from the controller broke: controller shutting down",
				"arcanosctl runs show run-42"}},
		{name: "a selector matching no host",
			startErr: status.Error(codes.InvalidArgument, `selector hosts=nope-* matches no host`),
			code:     ExitUsage, stderr: []string{"arcanosctl: start purge: selector hosts=nope-* matches no host"}},
		{name: "the controller refuses the operator",
			startErr: status.Error(codes.PermissionDenied, "operator bob may not purge"),
			code:     ExitFailed, stderr: []string{"the controller refused this operator: operator bob may not purge"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tc := startController(t, &fakeControl{events: c.events, startErr: c.startErr, streamErr: c.streamErr})
			r := ctl(t, tc.args("purge", "--hosts", "*", "--dry-run")...)
			if r.code != c.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, c.code, r.stderr)
			}
			for _, w := range c.stderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if strings.Contains(r.stderr, "rpc error") || strings.Contains(r.stderr, "code =") {
				t.Errorf("stderr shows a gRPC dump instead of the status message:\n%s", r.stderr)
			}
		})
	}
}

func TestPurgeWritesOneProtojsonEventPerLineWhenNotATerminal(t *testing.T) {
	events := concat(finishedHost("web-1", hostResult("web-1", ok, "xmrig")),
		[]*arcanosv1.PurgeEvent{event("web-2", arcanosv1.HostRunState_HOST_RUN_STATE_OFFLINE, "offline")})
	tc := startController(t, &fakeControl{events: events})

	for _, tty := range []bool{false, true} {
		args := tc.args("purge", "--hosts", "web-*", "--dry-run")
		if tty {
			args = append(args, "-o", "json") // -o json wins over a terminal
		}
		r := ctlTerm(t, tty, args...)
		if r.code != ExitIncomplete {
			t.Fatalf("exit %d; stderr: %s", r.code, r.stderr)
		}
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		if len(lines) != len(events) {
			t.Fatalf("%d lines on stdout for %d events:\n%s", len(lines), len(events), r.stdout)
		}
		for i, line := range lines {
			var got arcanosv1.PurgeEvent
			if err := protojson.Unmarshal([]byte(line), &got); err != nil {
				t.Fatalf("line %d is not a protojson PurgeEvent: %v\n%s", i+1, err, line)
			}
			if !proto.Equal(&got, events[i]) {
				t.Fatalf("line %d: got %v, want %v", i+1, &got, events[i])
			}
		}
		if strings.Contains(r.stdout, "\033[") || strings.Contains(r.stdout, "UNAUTHORIZED  PROTECTED") {
			t.Errorf("progress or the summary table reached stdout:\n%s", r.stdout)
		}
		for _, w := range []string{"HOST", "UNAUTHORIZED", "xmrig", "web-2  offline"} {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("the summary on stderr lacks %q:\n%s", w, r.stderr)
			}
		}
	}
}

func TestPurgeShowsLiveProgressAndTheSummaryOnATerminal(t *testing.T) {
	events := concat(finishedHost("web-1", hostResult("web-1", ok, "xmrig")), finishedHost("web-2", hostResult("web-2", ok)))
	tc := startController(t, &fakeControl{events: events})
	r := ctlTerm(t, true, tc.args("purge", "--hosts", "web-*", "--dry-run")...)
	if r.code != ExitUnauthorized {
		t.Fatalf("exit %d; stderr: %s", r.code, r.stderr)
	}
	for _, w := range []string{
		"run run-42: dry run on hosts=web-*",
		"\033[2A", // the two host lines redrawn in place
		"web-1  running   detect ✓ terminate …",
		"web-1  finished  detect ✓ terminate ✓  1 unauthorized",
		"web-2  finished  detect ✓ terminate ✓  all authorized",
		"UNAUTHORIZED", "xmrig",
	} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
		}
	}
	if strings.Contains(r.stdout, `"runId"`) {
		t.Errorf("JSON lines on a terminal:\n%s", r.stdout)
	}
}

func TestPhaseNamesMatchTheEngine(t *testing.T) {
	if !slices.Equal(phaseNames, phases.All) {
		t.Fatalf("arcanosctl knows phases %v, the engine runs %v", phaseNames, phases.All)
	}
}
