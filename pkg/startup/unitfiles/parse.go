package unitfiles

import (
	"fmt"
	"strings"
)

// directive is one Key=Value assignment of a unit file, continuation lines
// joined.
type directive struct {
	Section string
	Key     string
	Value   string
	// Line is the 1-based line the assignment starts on.
	Line int
}

// parseUnit reads unit-file syntax as systemd does (systemd.syntax(7)):
// [Section] headers, Key=Value assignments, comments starting with # or ;
// on their own line, and a trailing backslash continuing an assignment on
// the next line (the backslash becomes a space; comment lines inside a
// continuation are skipped). Lines it cannot read are returned as problems.
func parseUnit(data string) ([]directive, []string) {
	var (
		ds       []directive
		problems []string
		section  string
		cont     strings.Builder
		contLine int
	)

	emit := func(line string, n int) {
		switch {
		case strings.HasPrefix(line, "["):
			if !strings.HasSuffix(line, "]") || len(line) < 3 {
				problems = append(problems, fmt.Sprintf("line %d: invalid section header %q", n, line))
				section = ""
				return
			}
			section = line[1 : len(line)-1]
		case strings.HasPrefix(line, ".include "):
			problems = append(problems, fmt.Sprintf("line %d: .include is no longer supported by systemd", n))
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok {
				problems = append(problems, fmt.Sprintf("line %d: missing '=' in %q", n, line))
				return
			}
			if section == "" {
				problems = append(problems, fmt.Sprintf("line %d: assignment outside a section", n))
				return
			}
			ds = append(ds, directive{
				Section: section,
				Key:     strings.TrimSpace(key),
				Value:   strings.TrimSpace(value),
				Line:    n,
			})
		}
	}

	lines := strings.Split(data, "\n")
	for i, raw := range lines {
		n := i + 1
		line := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		continuing := cont.Len() > 0

		if isComment(line) || (line == "" && !continuing) {
			continue
		}
		if endsEscaped(line) {
			if !continuing {
				contLine = n
			}
			cont.WriteString(line[:len(line)-1])
			cont.WriteByte(' ')
			continue
		}
		if continuing {
			cont.WriteString(line)
			line, n = cont.String(), contLine
			cont.Reset()
		}
		if line != "" {
			emit(line, n)
		}
	}
	if cont.Len() > 0 {
		// A file may end inside a continuation; systemd takes what it has.
		emit(strings.TrimSpace(cont.String()), contLine)
	}
	return ds, problems
}

// endsEscaped reports whether line ends in an unescaped backslash.
func endsEscaped(line string) bool {
	n := len(line) - len(strings.TrimRight(line, "\\"))
	return n%2 == 1
}

func isComment(line string) bool {
	return strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";")
}
