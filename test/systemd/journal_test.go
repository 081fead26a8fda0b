package systemde2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// logRecord is one slog JSON record the agent wrote to stderr, as journald
// kept it, with the journal's own fields about where it came from.
type logRecord struct {
	Msg    string
	Fields map[string]any
	PID    string // _PID
	Ident  string // SYSLOG_IDENTIFIER
}

// journal reads `journalctl -u UNIT -o json` in the container and returns the
// records whose MESSAGE is a slog JSON object; lines that are not (systemd's
// own about the unit) are left out.
func journal(t *testing.T, c *container, unit string) []logRecord {
	t.Helper()
	out := c.exec("journalctl", "-u", unit, "-o", "json", "--no-pager")
	var recs []logRecord
	for line := range strings.Lines(out) {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("journalctl -o json gave a line that is not JSON: %v\n%s", err, line)
		}
		msg := journalString(entry["MESSAGE"])
		var fields map[string]any
		if json.Unmarshal([]byte(msg), &fields) != nil {
			continue
		}
		m, _ := fields["msg"].(string)
		recs = append(recs, logRecord{Msg: m, Fields: fields,
			PID: journalString(entry["_PID"]), Ident: journalString(entry["SYSLOG_IDENTIFIER"])})
	}
	return recs
}

// journalString returns a journal field as text: journald gives a string, or
// an array of bytes when the value is not valid UTF-8.
func journalString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		b := make([]byte, 0, len(v))
		for _, x := range v {
			if f, ok := x.(float64); ok {
				b = append(b, byte(f))
			}
		}
		return string(b)
	}
	return ""
}

// find returns the records with message msg.
func find(recs []logRecord, msg string) []logRecord {
	var out []logRecord
	for _, r := range recs {
		if r.Msg == msg {
			out = append(out, r)
		}
	}
	return out
}
