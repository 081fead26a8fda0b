package command

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func TestSummaryGroupsHostsStoppedForTheSameReason(t *testing.T) {
	tr := newTracker()
	tr.apply(&arcanosv1.PurgeEvent{RunId: runID, Host: "web-0", State: arcanosv1.HostRunState_HOST_RUN_STATE_FAILED,
		Detail: "agent disconnected"})
	for i := 1; i <= 7; i++ {
		tr.apply(event(fmt.Sprintf("web-%d", i), arcanosv1.HostRunState_HOST_RUN_STATE_SKIPPED, "rollout stopped: 1 host(s) failed"))
	}
	var out bytes.Buffer
	if err := writeSummary(&out, runID, tr.outcomes(), nil, 0); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"  web-0  failed: agent disconnected\n",
		"  web-1, web-2, web-3, web-4, web-5 and 2 more  skipped (7 hosts): rollout stopped: 1 host(s) failed\n",
		"8 host(s): 1 failed, 7 skipped; no unauthorized findings",
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("summary lacks %q:\n%s", w, out.String())
		}
	}
}

func TestSummaryCountsFromTheFullResultAndCapsTheUnauthorizedList(t *testing.T) {
	tr := newTracker()
	subjects := make([]string, 60)
	for i := range subjects {
		subjects[i] = fmt.Sprintf("miner-%02d", i)
	}
	done := event("web-1", arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED, "")
	done.Result = hostResult("web-1", ok, subjects...)
	tr.apply(done)

	o := tr.outcomes()[0]
	if n := len(o.result.GetPhases()[0].GetFindings()); n != 60 {
		t.Fatalf("the kept result holds %d findings, want only the 60 unauthorized", n)
	}
	var out bytes.Buffer
	if err := writeSummary(&out, runID, tr.outcomes(), nil, 50); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "web-1  finished  1           60") || !strings.Contains(s, "miner-49") ||
		strings.Contains(s, "miner-50") || !strings.Contains(s, "… and 10 more: arcanosctl runs show run-42 -o json") {
		t.Fatalf("summary:\n%s", s)
	}
}

// A controller that took the host's phases by reference ends the host with
// a result without phases: the summary lists the unauthorized findings the
// PHASE_DONE events carried, and a failed phase still fails the host.
func TestSummaryTakesFindingsFromPhaseEventsWhenTheResultLeavesThemOut(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failed   bool
		wantCode int
	}{
		{"clean phases", false, ExitUnauthorized},
		{"a failed phase", true, ExitIncomplete},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker()
			full := hostResult("web-1", ok, "miner", "bot")
			if tc.failed {
				full.Phases[1].Status = arcanosv1.PhaseStatus_PHASE_STATUS_FAILED
			}
			for _, ev := range finishedHost("web-1", full) {
				if ev.GetResult() != nil {
					ev.Result = &arcanosv1.RunResult{RunId: runID, Host: "web-1", DryRun: true,
						Status: ok, Summary: &arcanosv1.RunSummary{Authorized: 1, Unauthorized: 2, ActionsPlanned: 2}}
				}
				tr.apply(ev)
			}

			var out bytes.Buffer
			if err := writeSummary(&out, runID, tr.outcomes(), nil, 50); err != nil {
				t.Fatal(err)
			}
			for _, w := range []string{"miner", "bot", "not in authorizedProcesses"} {
				if !strings.Contains(out.String(), w) {
					t.Errorf("summary lacks %q:\n%s", w, out.String())
				}
			}
			if got := exitCodeOf(tr.outcomes()); got != tc.wantCode {
				t.Errorf("exit code %d, want %d", got, tc.wantCode)
			}
		})
	}
}

// A phase whose report was too large reached the controller without its
// findings: the summary says the agents counted more than it can list,
// and why the phase failed (a second reviewer's case).
func TestSummarySaysWhatTheAgentsCountedButCouldNotSend(t *testing.T) {
	tr := newTracker()
	res := hostResult("web-1", ok, "miner")
	res.Summary = &arcanosv1.RunSummary{Authorized: 1, Unauthorized: 30001}
	res.Phases = append(res.Phases, &arcanosv1.PhaseResult{Name: "startup",
		Status: arcanosv1.PhaseStatus_PHASE_STATUS_FAILED,
		Errors: []string{"the report was 6100000 bytes, over the 4128768 the stream carries"}})
	done := event("web-1", arcanosv1.HostRunState_HOST_RUN_STATE_FAILED, "partial result: phase startup failed")
	done.Result = res
	tr.apply(done)

	var out bytes.Buffer
	if err := writeSummary(&out, runID, tr.outcomes(), nil, 50); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"miner", "… and 30000 more that the agents counted but could not send",
		"web-1  failed  1"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("summary lacks %q:\n%s", w, out.String())
		}
	}
	if strings.Contains(out.String(), "runs show "+runID+" -o json") {
		t.Errorf("summary points at -o json for findings it does not have:\n%s", out.String())
	}
}
