package daemon

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// maxReportBytes keeps every report under gRPC's default 4 MiB receive
// limit, with room for framing. A bigger message would break the stream,
// and re-sending it after each reconnect would break every stream after.
//
// LIMITATION: a report over the limit reaches the controller without its
// findings and actions (counts, source statuses and an error saying so
// remain, and the phase reads FAILED); the full result is only in this
// host's daemon-scan.log and daemon-clean.log.
const maxReportBytes = 4<<20 - 64<<10

// fitReport returns req unchanged when it is small enough to send, else a
// copy whose phases keep their duration, source statuses and counts (the
// result's summary) but lose their findings and actions, with an error that
// says why. Such a phase is FAILED: the controller cannot vouch for a host
// whose findings it never received, so the host reads FAILED, not finished.
func fitReport(req *arcanosv1.ConnectRequest, limit int) *arcanosv1.ConnectRequest {
	size := proto.Size(req)
	if size <= limit {
		return req
	}
	out := proto.Clone(req).(*arcanosv1.ConnectRequest)
	note := fmt.Sprintf("the report was %d bytes, over the %d the stream carries: findings and actions "+
		"were left out; this host's daemon-scan.log and daemon-clean.log have them", size, limit)
	switch m := out.GetMsg().(type) {
	case *arcanosv1.ConnectRequest_Phase:
		stripPhase(m.Phase.GetPhase(), note)
	case *arcanosv1.ConnectRequest_Run:
		res := m.Run.GetResult()
		for _, p := range res.GetPhases() {
			stripPhase(p, "")
		}
		res.Errors = append(res.Errors, note)
	}
	return out
}

func stripPhase(p *arcanosv1.PhaseResult, note string) {
	if p == nil {
		return
	}
	p.Findings, p.Actions = nil, nil
	if p.GetStatus() != arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT {
		p.Status = arcanosv1.PhaseStatus_PHASE_STATUS_FAILED
	}
	if note != "" {
		p.Errors = append(p.Errors, note)
	}
}
