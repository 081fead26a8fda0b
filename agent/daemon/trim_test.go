package daemon

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func bigPhase(findings int) *arcanosv1.PhaseResult {
	p := &arcanosv1.PhaseResult{Name: "detect", Status: arcanosv1.PhaseStatus_PHASE_STATUS_OK,
		Sources: []*arcanosv1.SourceResult{{Name: "processes", Items: int32(findings)}}}
	for range findings {
		p.Findings = append(p.Findings, &arcanosv1.Finding{Kind: "process", Subject: strings.Repeat("x", 100)})
	}
	return p
}

func TestOversizedReportsLoseFindingsNotTheirPlace(t *testing.T) {
	small := phaseReport("a", 1)
	if fitReport(small, 1000) != small {
		t.Error("a report under the limit must be sent as it is")
	}

	phase := &arcanosv1.ConnectRequest{Msg: &arcanosv1.ConnectRequest_Phase{Phase: &arcanosv1.PhaseReport{
		RunId: "a", Seq: 1, Phase: bigPhase(100)}}}
	fit := fitReport(phase, 2000)
	p := fit.GetPhase()
	if proto.Size(fit) > 2000 || p.GetSeq() != 1 || p.GetPhase().GetName() != "detect" ||
		len(p.GetPhase().GetSources()) != 1 || len(p.GetPhase().GetFindings()) != 0 {
		t.Errorf("trimmed phase report = %d bytes, %v", proto.Size(fit), p)
	}
	if !slices.ContainsFunc(p.GetPhase().GetErrors(), func(e string) bool { return strings.Contains(e, "daemon-scan.log") }) {
		t.Errorf("the trimmed phase must say where the findings are: %q", p.GetPhase().GetErrors())
	}
	if p.GetPhase().GetStatus() != arcanosv1.PhaseStatus_PHASE_STATUS_FAILED {
		t.Errorf("a trimmed phase is %s; without its findings it must read FAILED", p.GetPhase().GetStatus())
	}
	if len(phase.GetPhase().GetPhase().GetFindings()) != 100 {
		t.Error("the spooled original must not be changed")
	}

	run := &arcanosv1.ConnectRequest{Msg: &arcanosv1.ConnectRequest_Run{Run: &arcanosv1.RunReport{RunId: "a",
		Result: &arcanosv1.RunResult{RunId: "a", Phases: []*arcanosv1.PhaseResult{bigPhase(50), bigPhase(50)},
			Summary: &arcanosv1.RunSummary{Unauthorized: 100}}}}}
	res := fitReport(run, 2000).GetRun().GetResult()
	if len(res.GetPhases()) != 2 || res.GetSummary().GetUnauthorized() != 100 || len(res.GetErrors()) != 1 {
		t.Errorf("trimmed result must keep its phases, summary and say why: %v", res)
	}
	for _, p := range res.GetPhases() {
		if p.GetStatus() != arcanosv1.PhaseStatus_PHASE_STATUS_FAILED {
			t.Errorf("trimmed phase %s is %s, want FAILED", p.GetName(), p.GetStatus())
		}
	}
}
