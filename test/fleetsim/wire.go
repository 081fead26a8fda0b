package fleetsim

import (
	"fmt"

	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the proto codec wireCodec falls back to
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// Field numbers of the messages the simulator writes or reads by hand; they
// follow agent.proto, control.proto and result.proto.
const (
	fieldRequestPhase  = 3 // ConnectRequest.phase
	fieldRequestRun    = 4 // ConnectRequest.run
	fieldReportRunID   = 1 // PhaseReport.run_id, RunReport.run_id
	fieldPhaseSeq      = 2 // PhaseReport.seq
	fieldPhaseReport   = 3 // PhaseReport.phase
	fieldRunResult     = 2 // RunReport.result
	fieldRunReported   = 3 // RunReport.phases_reported
	fieldResultPhases  = 6 // RunResult.phases
	fieldResponseEvent = 1 // StartPurgeResponse.event
	fieldEventRunID    = 1 // PurgeEvent.run_id
	fieldEventHost     = 2 // PurgeEvent.host
	fieldEventState    = 3 // PurgeEvent.state
	fieldEventPhase    = 4 // PurgeEvent.phase
	fieldEventResult   = 5 // PurgeEvent.result
	fieldEventDetail   = 6 // PurgeEvent.detail
)

// encoded is a message already in protobuf wire form, in pieces: a small
// per-agent head and payloads shared by every agent. wireCodec sends the
// pieces as they are, so a thousand agents reporting the same phases cost
// the simulator no marshalling: a real agent spends that CPU on its own host,
// not on the controller's machine.
type encoded mem.BufferSlice

// wireCodec is the "proto" codec with two shortcuts for the simulator's own
// traffic: an encoded message is sent as is, and an event head is decoded
// without the phase or result it carries. Anything else goes through the
// standard proto codec, and the bytes on the wire are the same either way.
type wireCodec struct {
	std encoding.CodecV2
}

func newWireCodec() wireCodec { return wireCodec{std: encoding.GetCodecV2("proto")} }

func (c wireCodec) Marshal(v any) (mem.BufferSlice, error) {
	if e, ok := v.(encoded); ok {
		return mem.BufferSlice(e), nil
	}
	return c.std.Marshal(v)
}

func (c wireCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if h, ok := v.(*eventHead); ok {
		buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
		defer buf.Free()
		return h.decode(buf.ReadOnlyData())
	}
	return c.std.Unmarshal(data, v)
}

func (wireCodec) Name() string { return "proto" }

// sharedPhases holds each template phase encoded once, both as a
// PhaseReport's phase field and as a RunResult's phases entry (the same
// bytes under different field numbers).
type sharedPhases struct {
	name   []string
	report [][]byte // tag 3 + length + phase: PhaseReport.phase
	result [][]byte // tag 6 + length + phase: RunResult.phases
}

func encodePhases(phases []*arcanosv1.PhaseResult) (*sharedPhases, error) {
	s := &sharedPhases{}
	for _, p := range phases {
		raw, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encode phase %s: %w", p.GetName(), err)
		}
		s.name = append(s.name, p.GetName())
		s.report = append(s.report, protowire.AppendBytes(
			protowire.AppendTag(nil, fieldPhaseReport, protowire.BytesType), raw))
		s.result = append(s.result, protowire.AppendBytes(
			protowire.AppendTag(nil, fieldResultPhases, protowire.BytesType), raw))
	}
	return s, nil
}

// phaseRequest is ConnectRequest{phase: PhaseReport{run_id, seq, phase}}
// with phase i's shared bytes.
func (s *sharedPhases) phaseRequest(runID string, seq int32, i int) encoded {
	head := protowire.AppendString(protowire.AppendTag(nil, fieldReportRunID, protowire.BytesType), runID)
	head = protowire.AppendVarint(protowire.AppendTag(head, fieldPhaseSeq, protowire.VarintType), uint64(seq))
	inner := len(head) + len(s.report[i])

	out := protowire.AppendTag(nil, fieldRequestPhase, protowire.BytesType)
	out = protowire.AppendVarint(out, uint64(inner))
	out = append(out, head...)
	return encoded{mem.SliceBuffer(out), mem.SliceBuffer(s.report[i])}
}

// runRequest is ConnectRequest{run: RunReport{run_id, phases_reported,
// result}}: the per-agent fields of res (whose Phases must be empty)
// followed by the shared bytes of the phases in idx (none for a report that
// leaves them out). Protobuf readers accept fields in any order, so the
// result decodes as if marshalled whole.
func (s *sharedPhases) runRequest(runID string, res *arcanosv1.RunResult, idx []int, reported int32) (encoded, error) {
	resHead, err := proto.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("encode result head of %s: %w", res.GetHost(), err)
	}
	resLen := len(resHead)
	for _, i := range idx {
		resLen += len(s.result[i])
	}
	report := protowire.AppendString(protowire.AppendTag(nil, fieldReportRunID, protowire.BytesType), runID)
	if reported > 0 {
		report = protowire.AppendVarint(protowire.AppendTag(report, fieldRunReported, protowire.VarintType),
			uint64(reported))
	}
	report = protowire.AppendTag(report, fieldRunResult, protowire.BytesType)
	report = protowire.AppendVarint(report, uint64(resLen))
	reportLen := len(report) + resLen

	out := protowire.AppendTag(nil, fieldRequestRun, protowire.BytesType)
	out = protowire.AppendVarint(out, uint64(reportLen))
	out = append(out, report...)
	out = append(out, resHead...)
	msg := encoded{mem.SliceBuffer(out)}
	for _, i := range idx {
		msg = append(msg, mem.SliceBuffer(s.result[i]))
	}
	return msg, nil
}

// eventHead is a PurgeEvent without its payload: who, which state, and how
// many bytes of phase or result it carried.
type eventHead struct {
	RunID, Host, Detail string
	State               arcanosv1.HostRunState
	PhaseBytes          int
	ResultBytes         int
}

// decode reads a StartPurgeResponse, skipping the event's phase and result.
func (h *eventHead) decode(b []byte) error {
	*h = eventHead{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("decode event: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if num == fieldResponseEvent && typ == protowire.BytesType {
			ev, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fmt.Errorf("decode event: %w", protowire.ParseError(n))
			}
			if err := h.decodeEvent(ev); err != nil {
				return err
			}
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return fmt.Errorf("decode event: %w", protowire.ParseError(n))
		}
		b = b[n:]
	}
	return nil
}

func (h *eventHead) decodeEvent(b []byte) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("decode event: %w", protowire.ParseError(n))
		}
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return fmt.Errorf("decode event field %d: %w", num, protowire.ParseError(n))
		}
		val := b[:n]
		b = b[n:]
		switch {
		case typ == protowire.VarintType && num == fieldEventState:
			v, _ := protowire.ConsumeVarint(val)
			h.State = arcanosv1.HostRunState(v)
		case typ != protowire.BytesType:
		case num == fieldEventRunID:
			h.RunID = string(bytesOf(val))
		case num == fieldEventHost:
			h.Host = string(bytesOf(val))
		case num == fieldEventDetail:
			h.Detail = string(bytesOf(val))
		case num == fieldEventPhase:
			h.PhaseBytes = len(bytesOf(val))
		case num == fieldEventResult:
			h.ResultBytes = len(bytesOf(val))
		}
	}
	return nil
}

func bytesOf(field []byte) []byte {
	v, _ := protowire.ConsumeBytes(field)
	return v
}
