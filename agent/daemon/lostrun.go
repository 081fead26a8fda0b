package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/arcanos-dev/arcanos/pkg/purge"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// RunMarkerFile names the run in progress (JSON) from its start until its
// final result is spooled. Found at start-up, it means the agent stopped
// during that run (killed, crashed, the host rebooted).
const RunMarkerFile = "current-run.json"

// lostRunError is the error of the result an agent reports for a run it
// was stopped during.
const lostRunError = "the agent stopped during this run (killed, crashed or the host restarted) " +
	"and could not finish it; the phases it reported before are kept"

// runMarker is what the marker file records of the run in progress.
type runMarker struct {
	RunID     string    `json:"run_id"`
	DryRun    bool      `json:"dry_run"`
	StartedAt time.Time `json:"started_at"`
}

// markRun records the run in progress; the marker is removed by clearRun
// once the run's final result is spooled.
func (s State) markRun(m runMarker) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode run marker: %w", err)
	}
	return writeFileAtomic(s.Dir, RunMarkerFile, data, 0o600)
}

// clearRun removes the run marker.
func (s State) clearRun() error {
	// audit: removes the agent's own run marker in its state dir; guard:
	// only this fixed name, after the run's final result is spooled.
	if err := os.Remove(s.Path(RunMarkerFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove run marker: %w", err)
	}
	return nil
}

// recoverLostRun spools a failed result for the run an earlier process of
// the agent was stopped during, unless that run's result is spooled
// already, so the controller learns at once that the run was lost instead
// of waiting for its deadline. It returns the lost run's id, or "".
func recoverLostRun(state State, spool *Spool, hostname string, log *slog.Logger) (string, error) {
	data, err := os.ReadFile(state.Path(RunMarkerFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read run marker: %w", err)
	}
	var m runMarker
	if err := json.Unmarshal(data, &m); err != nil || m.RunID == "" {
		log.Warn("run marker unreadable; removed", "file", state.Path(RunMarkerFile), "err", err)
		return "", state.clearRun()
	}

	for _, k := range spool.Pending() {
		if k.Final && k.RunID == m.RunID {
			return m.RunID, state.clearRun() // stopped after its result was kept
		}
	}
	now := timestamppb.Now()
	res := &arcanosv1.RunResult{
		RunId:        m.RunID,
		Host:         hostname,
		DryRun:       m.DryRun,
		StartedAt:    timestamppb.New(m.StartedAt),
		FinishedAt:   now,
		AgentVersion: purge.Version,
		Status:       arcanosv1.PhaseStatus_PHASE_STATUS_FAILED,
		Errors:       []string{lostRunError},
		// No summary: the phases reported before are no longer here to
		// count; the controller counts them from what it stored.
	}
	err = spool.Put(&arcanosv1.ConnectRequest{Msg: &arcanosv1.ConnectRequest_Run{
		Run: &arcanosv1.RunReport{RunId: m.RunID, Result: res}}})
	if err != nil {
		return "", fmt.Errorf("keep the result of lost run %s: %w", m.RunID, err)
	}
	log.Warn("the agent stopped during a run; reporting it failed", "run", m.RunID)
	return m.RunID, state.clearRun()
}
