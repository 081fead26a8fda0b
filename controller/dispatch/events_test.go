package dispatch

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func TestStoredEventKeepsEverythingButThePayload(t *testing.T) {
	phase := &arcanosv1.PhaseResult{Name: "detect", Findings: []*arcanosv1.Finding{{Subject: "sshd"}}}
	result := &arcanosv1.RunResult{RunId: "r1", Host: "web-1", Phases: []*arcanosv1.PhaseResult{phase}}
	e := &arcanosv1.PurgeEvent{
		RunId: "r1", Host: "web-1", State: arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED,
		Phase: phase, Result: result, Detail: "1 unauthorized", At: timestamppb.Now(),
	}

	got := withoutPayload(e)

	want := proto.Clone(e).(*arcanosv1.PurgeEvent)
	want.Phase, want.Result = nil, nil
	if !proto.Equal(got, want) {
		t.Fatalf("stored event %v, want %v", got, want)
	}
	if e.GetPhase() != phase || e.GetResult() != result {
		t.Fatal("the emitted event lost its payload")
	}
}

// A field added to PurgeEvent later must reach the stored copy too: the
// copy drops the two payload fields by number, so this checks that those
// numbers still name phase and result and that every other field is kept.
func TestStoredEventDropsOnlyPhaseAndResult(t *testing.T) {
	e := &arcanosv1.PurgeEvent{}
	m := e.ProtoReflect()
	fields := m.Descriptor().Fields()
	if fields.ByNumber(eventPhaseField).Name() != "phase" || fields.ByNumber(eventResultField).Name() != "result" {
		t.Fatalf("PurgeEvent fields %d and %d are %s and %s, not phase and result", eventPhaseField,
			eventResultField, fields.ByNumber(eventPhaseField).Name(), fields.ByNumber(eventResultField).Name())
	}
	for i := range fields.Len() {
		fd := fields.Get(i)
		switch fd.Kind() {
		case protoreflect.MessageKind:
			m.Set(fd, protoreflect.ValueOfMessage(m.NewField(fd).Message()))
		case protoreflect.StringKind:
			m.Set(fd, protoreflect.ValueOfString("x"))
		case protoreflect.EnumKind:
			m.Set(fd, protoreflect.ValueOfEnum(1))
		default:
			t.Fatalf("field %s of kind %s: teach this test to set it", fd.Name(), fd.Kind())
		}
	}

	got := withoutPayload(e).ProtoReflect()
	for i := range fields.Len() {
		fd := fields.Get(i)
		payload := fd.Number() == eventPhaseField || fd.Number() == eventResultField
		if got.Has(fd) == payload {
			t.Errorf("field %s: stored copy has it = %v, want %v", fd.Name(), got.Has(fd), !payload)
		}
	}
}
