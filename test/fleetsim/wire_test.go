package fleetsim

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func testAnswer(t *testing.T) *Answer {
	t.Helper()
	tmpl, err := CapturedResult()
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAnswer(tmpl, 0)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// decodeRequest decodes what wireCodec would put on the wire.
func decodeRequest(t *testing.T, msg encoded) *arcanosv1.ConnectRequest {
	t.Helper()
	data, err := newWireCodec().Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	got := &arcanosv1.ConnectRequest{}
	if err := proto.Unmarshal(data.Materialize(), got); err != nil {
		t.Fatalf("the controller could not decode it: %v", err)
	}
	return got
}

func TestCapturedResultIsARealHostsSixPhases(t *testing.T) {
	a := testAnswer(t)
	var names []string
	for _, p := range a.tmpl.GetPhases() {
		names = append(names, p.GetName())
	}
	want := []string{"detect", "terminate", "startup", "caches", "services", "health"}
	if len(names) != len(want) {
		t.Fatalf("phases %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("phases %v, want %v", names, want)
		}
	}
	if a.Findings() < 100 || a.Size() < 32<<10 {
		t.Errorf("%d findings in %d bytes: not a realistic host's result", a.Findings(), a.Size())
	}
}

func TestEncodedPhaseReportDecodesAsMarshalled(t *testing.T) {
	a := testAnswer(t)
	for i, p := range a.tmpl.GetPhases() {
		got := decodeRequest(t, a.enc.phaseRequest("run-1", int32(i+1), i))
		want := &arcanosv1.ConnectRequest{Msg: &arcanosv1.ConnectRequest_Phase{Phase: &arcanosv1.PhaseReport{
			RunId: "run-1", Seq: int32(i + 1), Phase: p,
		}}}
		if !proto.Equal(got, want) {
			t.Fatalf("phase %s: decoded report differs from the marshalled one", p.GetName())
		}
	}
}

func TestEncodedRunReportDecodesAsMarshalled(t *testing.T) {
	a := testAnswer(t)
	cmd := &arcanosv1.RunCommand{RunId: "run-1", DryRun: true, Phases: []string{"detect", "startup"},
		AllowlistJson: []byte(`{"authorizedProcesses":[]}`)}
	idx := a.selected(cmd)
	head := a.head(cmd, "web-7", time.Unix(1700000000, 0))

	for _, tc := range []struct {
		name     string
		idx      []int
		reported int32
		phases   []*arcanosv1.PhaseResult
	}{
		{"whole", idx, 0, []*arcanosv1.PhaseResult{a.tmpl.GetPhases()[0], a.tmpl.GetPhases()[2]}},
		{"whole naming its phase reports", idx, 2,
			[]*arcanosv1.PhaseResult{a.tmpl.GetPhases()[0], a.tmpl.GetPhases()[2]}},
		{"by reference", nil, 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := a.enc.runRequest(cmd.GetRunId(), head, tc.idx, tc.reported)
			if err != nil {
				t.Fatal(err)
			}

			got := decodeRequest(t, msg)

			res := proto.Clone(head).(*arcanosv1.RunResult)
			res.Phases = tc.phases
			want := &arcanosv1.ConnectRequest{Msg: &arcanosv1.ConnectRequest_Run{Run: &arcanosv1.RunReport{
				RunId: "run-1", Result: res, PhasesReported: tc.reported,
			}}}
			if !proto.Equal(got, want) {
				t.Fatal("decoded run report differs from the marshalled one")
			}
			if got.GetRun().GetResult().GetHost() != "web-7" ||
				len(got.GetRun().GetResult().GetPhases()) != len(tc.phases) {
				t.Fatalf("decoded result: host %q, %d phases", got.GetRun().GetResult().GetHost(),
					len(got.GetRun().GetResult().GetPhases()))
			}
		})
	}
}

func TestEventHeadReadsWhoAndStateAndSkipsThePayload(t *testing.T) {
	a := testAnswer(t)
	resp := &arcanosv1.StartPurgeResponse{Event: &arcanosv1.PurgeEvent{
		RunId: "run-1", Host: "web-1", State: arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED,
		Result: a.tmpl, Detail: "22 unauthorized",
	}}
	raw, err := proto.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}

	var h eventHead
	if err := h.decode(raw); err != nil {
		t.Fatal(err)
	}

	want := eventHead{RunID: "run-1", Host: "web-1", Detail: "22 unauthorized",
		State: arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED, ResultBytes: proto.Size(a.tmpl)}
	if h != want {
		t.Fatalf("decoded %+v, want %+v", h, want)
	}
}
