package fleetsim

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

//go:embed testdata/web-1.dryrun.json
var capturedResult []byte

// CapturedResult returns the recorded dry-run result of a small web host
// (testdata/web-1.dryrun.json, made by testdata/capture.sh): six phases,
// ~190 findings with their evidence.
func CapturedResult() (*arcanosv1.RunResult, error) {
	res := &arcanosv1.RunResult{}
	if err := protojson.Unmarshal(capturedResult, res); err != nil {
		return nil, fmt.Errorf("decode testdata/web-1.dryrun.json: %w", err)
	}
	if len(res.GetPhases()) == 0 {
		return nil, fmt.Errorf("testdata/web-1.dryrun.json holds no phase")
	}
	return res, nil
}

// Answer is what every simulated agent reports for a run: a template
// result whose phases are encoded once and shared, read-only, by every
// agent, so a thousand agents cost one copy and no marshalling.
type Answer struct {
	tmpl  *arcanosv1.RunResult
	enc   *sharedPhases
	delay func(p *arcanosv1.PhaseResult) time.Duration
}

// DelayCapture makes each simulated phase take as long as it did when the
// result was recorded.
const DelayCapture time.Duration = -1

// NewAnswer returns the answer built on tmpl. perPhase is how long each
// phase takes: DelayCapture for its recorded duration, 0 for none, or a
// fixed time.
func NewAnswer(tmpl *arcanosv1.RunResult, perPhase time.Duration) (*Answer, error) {
	enc, err := encodePhases(tmpl.GetPhases())
	if err != nil {
		return nil, err
	}
	a := &Answer{tmpl: tmpl, enc: enc}
	if perPhase == DelayCapture {
		a.delay = func(p *arcanosv1.PhaseResult) time.Duration { return p.GetDuration().AsDuration() }
	} else {
		a.delay = func(*arcanosv1.PhaseResult) time.Duration { return perPhase }
	}
	return a, nil
}

// Findings is how many findings one host's answer carries over all phases.
func (a *Answer) Findings() int {
	n := 0
	for _, p := range a.tmpl.GetPhases() {
		n += len(p.GetFindings())
	}
	return n
}

// Size is the encoded size of one host's RunResult in bytes.
func (a *Answer) Size() int { return proto.Size(a.tmpl) }

// selected returns the indexes of the template phases the command asks
// for, in the template's order (all of them when it names none).
func (a *Answer) selected(cmd *arcanosv1.RunCommand) []int {
	var out []int
	for i, p := range a.tmpl.GetPhases() {
		if len(cmd.GetPhases()) == 0 || slices.Contains(cmd.GetPhases(), p.GetName()) {
			out = append(out, i)
		}
	}
	return out
}

// head is host's RunResult for cmd without its phases: the run's id, the
// host's name and the digest of the allowlist the command carried.
func (a *Answer) head(cmd *arcanosv1.RunCommand, host string, started time.Time) *arcanosv1.RunResult {
	sum := sha256.Sum256(cmd.GetAllowlistJson())
	return &arcanosv1.RunResult{
		RunId:           cmd.GetRunId(),
		Host:            host,
		DryRun:          cmd.GetDryRun(),
		StartedAt:       timestamppb.New(started),
		FinishedAt:      timestamppb.Now(),
		AllowlistDigest: "sha256:" + hex.EncodeToString(sum[:]),
		AgentVersion:    "fleetsim",
		Status:          a.tmpl.GetStatus(),
		Summary:         a.tmpl.GetSummary(),
	}
}
