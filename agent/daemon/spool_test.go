package daemon

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func phaseReport(run string, seq int32) *arcanosv1.ConnectRequest {
	return &arcanosv1.ConnectRequest{Msg: &arcanosv1.ConnectRequest_Phase{Phase: &arcanosv1.PhaseReport{
		RunId: run, Seq: seq, Phase: &arcanosv1.PhaseResult{Name: "detect"}}}}
}

func runReport(run string) *arcanosv1.ConnectRequest {
	return &arcanosv1.ConnectRequest{Msg: &arcanosv1.ConnectRequest_Run{Run: &arcanosv1.RunReport{
		RunId: run, Result: &arcanosv1.RunResult{RunId: run}}}}
}

func TestSpoolKeepsOrderAcrossReopenAndAcksRemove(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	s, err := OpenSpool(dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*arcanosv1.ConnectRequest{phaseReport("a", 1), phaseReport("a", 2), runReport("a"),
		phaseReport("b", 1)} {
		if err := s.Put(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(&arcanosv1.ConnectRequest{}); err == nil {
		t.Error("a message that is not a report must not be spooled")
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("spool dir mode %v %v, want 0700", fi.Mode().Perm(), err)
	}

	// A crash between writing a temporary file and renaming it, and a file
	// that is not a report, must neither stop the agent nor be sent.
	os.WriteFile(filepath.Join(dir, ".00001-phase.pb.tmp-123"), []byte("half"), 0o600)
	os.WriteFile(filepath.Join(dir, "00002-phase.pb"), []byte("garbage"), 0o600)

	s, err = OpenSpool(dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []ReportKey{{RunID: "a", Seq: 1}, {RunID: "a", Seq: 2}, {RunID: "a", Final: true}, {RunID: "b", Seq: 1}}
	if got := s.Pending(); !slices.Equal(got, want) {
		t.Fatalf("pending after reopen = %v, want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, ".00001-phase.pb.tmp-123")); !os.IsNotExist(err) {
		t.Error("a temporary file left by a crash must be removed")
	}
	got, err := s.Read(ReportKey{RunID: "a", Final: true})
	if err != nil || got.GetRun().GetResult().GetRunId() != "a" {
		t.Fatalf("read back: %v %v", got, err)
	}

	if n := s.Ack(&arcanosv1.Ack{RunId: "b", Seq: 1}); n != 1 {
		t.Errorf("ack of b/1 removed %d, want 1", n)
	}
	if n := s.Ack(&arcanosv1.Ack{RunId: "a", Seq: 9}); n != 0 {
		t.Errorf("ack of an unknown seq removed %d", n)
	}
	if n := s.Ack(&arcanosv1.Ack{RunId: "a", Final: true}); n != 3 {
		t.Errorf("final ack of a removed %d, want its result and both phases", n)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.pb"))
	if s.Len() != 0 || len(files) != 1 || filepath.Base(files[0]) != "00002-phase.pb" {
		t.Errorf("after the acks: %d pending, files %v; want only the unreadable file kept", s.Len(), files)
	}
}
