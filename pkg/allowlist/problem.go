package allowlist

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with an allowlist file: where it is and what to
// change. Line and Column are 1-based; both are 0 when the problem has no
// position in the file (a missing file, for instance).
type Problem struct {
	// Path is the JSON path of the offending value, like
	// $.authorizedProcesses[2].exe; "$" is the whole document.
	Path    string `json:"path"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

// String formats the problem as "line:col: $.path: message", leaving out the
// position when it is unknown.
func (p Problem) String() string {
	if p.Line == 0 {
		return fmt.Sprintf("%s: %s", p.Path, p.Message)
	}
	return fmt.Sprintf("%d:%d: %s: %s", p.Line, p.Column, p.Path, p.Message)
}

// ValidationError lists every problem found in one allowlist file. Load and
// Parse return it (as error) whenever the file cannot be used as it is.
type ValidationError struct {
	File     string
	Problems []Problem
}

// Error returns one "file:line:col: $.path: message" line per problem.
func (e *ValidationError) Error() string {
	file := e.File
	if file == "" {
		file = "<allowlist>"
	}
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(file)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", p.Line, p.Column)
		}
		fmt.Fprintf(&b, ": %s: %s", p.Path, p.Message)
	}
	return b.String()
}

// lineIndex turns byte offsets of one document into 1-based line and column
// numbers. Columns count characters (runes), as editors show them.
type lineIndex struct {
	data   []byte
	starts []int // byte offset at which each line begins
}

func newLineIndex(data []byte) *lineIndex {
	starts := []int{0}
	for i, c := range data {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return &lineIndex{data: data, starts: starts}
}

// pos returns the line and column of byte offset off, clamped to the data.
func (x *lineIndex) pos(off int) (line, col int) {
	if off < 0 {
		off = 0
	}
	if off > len(x.data) {
		off = len(x.data)
	}
	lo, hi := 0, len(x.starts)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if x.starts[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo + 1, len([]rune(string(x.data[x.starts[lo]:off]))) + 1
}
