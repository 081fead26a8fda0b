package redact

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// String redacts argv with Args and joins it for display, quoting each
// argument as a POSIX shell would need it: bare when it holds only safe
// characters, in single quotes otherwise, and as $'…' with escapes when it
// holds control characters or invalid UTF-8 (so a command line cannot forge
// log lines). '*' counts as safe so that the mask reads as ***; the result is
// for people to read, not to paste into a shell.
func String(argv []string) string {
	parts := Args(argv)
	for i, a := range parts {
		parts[i] = quote(a)
	}
	return strings.Join(parts, " ")
}

func quote(s string) string {
	if s == "" {
		return "''"
	}
	safe, printable := true, utf8.ValidString(s)
	for _, r := range s {
		if !isSafe(r) {
			safe = false
		}
		if !unicode.IsPrint(r) && r != ' ' {
			printable = false
		}
	}
	switch {
	case safe:
		return s
	case printable:
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	default:
		return ansiQuote(s)
	}
}

func isSafe(r rune) bool {
	return r < utf8.RuneSelf && (isAlpha(byte(r)) || isDigit(byte(r)) ||
		strings.ContainsRune("@%+=:,./-_*", r))
}

// ansiQuote quotes s as bash's $'…', escaping every byte that is not
// printable ASCII.
func ansiQuote(s string) string {
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\\' || c == '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}
