package report

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func verdictWord(v arcanosv1.Verdict) string {
	return strings.ToLower(strings.TrimPrefix(v.String(), "VERDICT_"))
}

func statusWord(s arcanosv1.PhaseStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "PHASE_STATUS_"))
}

func actionWord(s arcanosv1.ActionState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "ACTION_STATE_"))
}

// Bytes formats a byte count for a person.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Printable escapes control characters (terminal escape sequences in a
// hostile process name, newlines that would forge a log line) as \xNN.
func Printable(s string) string {
	clean := true
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case unicode.IsControl(r):
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// StatusWord is a phase status in lower case without its prefix: ok,
// skipped, unavailable, timed_out, failed.
func StatusWord(s arcanosv1.PhaseStatus) string { return statusWord(s) }
