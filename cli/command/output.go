package command

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/arcanos-dev/arcanos/pkg/report"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// Output formats of -o.
const (
	outTable = "table"
	outJSON  = "json"
)

// outputFormat returns the -o value, checked.
func outputFormat(cmd *cobra.Command) (string, error) {
	o, _ := cmd.Flags().GetString("output")
	if o != outTable && o != outJSON {
		return "", usageErr("-o %q: use table or json", o)
	}
	return o, nil
}

// writeJSON writes msg as indented protojson (camelCase field names, as the
// agent's -o json).
func writeJSON(w io.Writer, msg proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(msg)
	if err != nil {
		return &exitError{ExitFailed, fmt.Errorf("encode %s: %w", msg.ProtoReflect().Descriptor().Name(), err)}
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// writeJSONLine writes msg as protojson on one line.
func writeJSONLine(w io.Writer, msg proto.Message) error {
	b, err := protojson.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode %s: %w", msg.ProtoReflect().Descriptor().Name(), err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// newTable returns a tab-aligned writer; flush it when done.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// terminalSize returns the rows and columns of the terminal w, 0 when unknown.
func terminalSize(w io.Writer) (rows, cols int) {
	f, ok := w.(*os.File)
	if !ok {
		return 0, 0
	}
	cols, rows, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0, 0
	}
	return rows, cols
}

// clean escapes control characters in text from hosts (a hostile name must
// not drive the operator's terminal).
func clean(s string) string { return report.Printable(s) }

// stateWord is a host's run state in lower case: queued, running,
// phase_done, finished, refused, offline, failed, skipped, missed.
func stateWord(s arcanosv1.HostRunState) string {
	if s == arcanosv1.HostRunState_HOST_RUN_STATE_UNSPECIFIED {
		return "unknown"
	}
	return strings.ToLower(strings.TrimPrefix(s.String(), "HOST_RUN_STATE_"))
}

func verdictWord(v arcanosv1.Verdict) string {
	return strings.ToLower(strings.TrimPrefix(v.String(), "VERDICT_"))
}

// selectorText shows a selector as an operator would type it.
func selectorText(s *arcanosv1.Selector) string {
	if s == nil {
		return "-"
	}
	parts := []string{}
	if s.Hosts != "" {
		parts = append(parts, "hosts="+s.Hosts)
	}
	if len(s.Labels) > 0 {
		parts = append(parts, "labels="+labelsText(s.Labels))
	}
	if len(parts) == 0 {
		return "-"
	}
	return clean(strings.Join(parts, " "))
}

// labelsText shows labels as sorted k=v pairs.
func labelsText(l map[string]string) string {
	if len(l) == 0 {
		return "-"
	}
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(l)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + l[k])
	}
	return clean(b.String())
}

// timeText shows a timestamp in local time, "-" when unset.
func timeText(ts *timestamppb.Timestamp) string {
	if ts == nil || (ts.Seconds == 0 && ts.Nanos == 0) {
		return "-"
	}
	return ts.AsTime().Local().Format("2006-01-02 15:04:05")
}

// modeText is "dry run" or "real".
func modeText(dry bool) string {
	if dry {
		return "dry run"
	}
	return "real"
}

// dash shows "" as "-".
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return clean(s)
}

// ago shows how long ago t was, coarsely.
func ago(ts *timestamppb.Timestamp, now time.Time) string {
	if ts == nil || (ts.Seconds == 0 && ts.Nanos == 0) {
		return "never"
	}
	d := now.Sub(ts.AsTime())
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}
