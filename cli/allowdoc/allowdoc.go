// Package allowdoc checks a central allowlist document before arcanosctl
// sends it to the controller: the operators' allowlist JSON plus an optional
// "overlays" object mapping "label=value" to more entries of the same keys.
// The base and every overlay are validated by pkg/allowlist, so problems read
// exactly as the agent reports them, with their line and column in the file.
package allowdoc

import (
	"errors"
	"fmt"
	"strings"

	"github.com/arcanos-dev/arcanos/pkg/allowlist"
	"github.com/arcanos-dev/arcanos/pkg/overlay"
)

// OverlaysKey is the top-level key holding the per-label overlays.
const OverlaysKey = "overlays"

// arrayKeys are the allowlist keys whose entries an overlay adds to the base.
var arrayKeys = overlay.ArrayKeys

const ecosystemKey = overlay.EcosystemKey

// Check validates data, the content of file. It returns every problem as one
// *allowlist.ValidationError (nil when there is none) and, apart, the
// problems that only the hosts can settle: a pm2Ecosystem file is read on
// each host, so its absence here is a warning, not an error.
//
// LIMITATION: an overlay is checked merged with the base on its own; a host
// carrying two labels gets both overlays, and a clash between two overlays
// (the same entry in both) is caught only by the controller.
func Check(data []byte, file string) (*allowlist.ValidationError, []allowlist.Problem) {
	var problems, warnings []allowlist.Problem
	// keep sorts problems from warnings and says whether it saw a problem.
	keep := func(ps []allowlist.Problem) bool {
		n := len(problems)
		for _, p := range ps {
			if hostSide(p) {
				warnings = append(warnings, p)
			} else {
				problems = append(problems, p)
			}
		}
		return len(problems) > n
	}

	body := 0
	if len(data) >= 3 && string(data[:3]) == "\xef\xbb\xbf" {
		body = 3
	}
	top, err := members(data, body, len(data))
	if err != nil {
		// Not one well-formed object: pkg/allowlist says what is wrong, and where.
		keep(parse(data, file, ""))
		return result(file, problems), warnings
	}

	ov, found := findOverlays(top)
	if !found {
		keep(parse(data, file, ""))
		return result(file, problems), warnings
	}

	from, to := ov.span(data)
	base := blank(data, from, to)
	baseBad := keep(parse(base, file, ""))

	overlays, own := overlayMembers(data, ov)
	problems = append(problems, own...)
	for _, o := range overlays {
		prefix := fmt.Sprintf("$.%s[%q]", OverlaysKey, o.key)
		// The overlay alone, at its own place in the file, so positions hold.
		alone := append(blank(data[:o.valStart], body, o.valStart), data[o.valStart:o.valEnd]...)
		if overlayBad := keep(parse(alone, file, prefix)); !baseBad && !overlayBad {
			keep(checkMerged(data, base, file, o, prefix))
		}
	}
	return result(file, problems), warnings
}

// hostSide reports a problem only a host can settle: its ecosystem file.
func hostSide(p allowlist.Problem) bool {
	return strings.HasSuffix(p.Path, ecosystemKey) && strings.HasPrefix(p.Message, "ecosystem file ")
}

// parse runs pkg/allowlist over data and returns its problems with their
// paths moved under prefix (when not "").
func parse(data []byte, file, prefix string) []allowlist.Problem {
	_, err := allowlist.Parse(data, file)
	if err == nil {
		return nil
	}
	var ve *allowlist.ValidationError
	if !errors.As(err, &ve) {
		return []allowlist.Problem{{Path: "$", Message: err.Error()}}
	}
	out := make([]allowlist.Problem, 0, len(ve.Problems))
	for _, p := range ve.Problems {
		if prefix != "" {
			p.Path = prefix + strings.TrimPrefix(p.Path, "$")
		}
		out = append(out, p)
	}
	return out
}

func result(file string, problems []allowlist.Problem) *allowlist.ValidationError {
	if len(problems) == 0 {
		return nil
	}
	return &allowlist.ValidationError{File: file, Problems: problems}
}

// overlaysMember is where the first "overlays" member sits at the top level.
type overlaysMember struct {
	member
	first bool // it is the object's first member
}

func findOverlays(top []member) (overlaysMember, bool) {
	for i, m := range top {
		if m.key == OverlaysKey {
			return overlaysMember{member: m, first: i == 0}, true
		}
	}
	return overlaysMember{}, false
}

// span is the text to blank so that the document without the overlays is
// still well-formed JSON: with the comma before it, or, for the first
// member, with the comma after it.
func (o overlaysMember) span(data []byte) (int, int) {
	if !o.first {
		return o.before, o.valEnd
	}
	end := o.valEnd
	for i := end; i < len(data); i++ {
		switch data[i] {
		case ' ', '\t', '\r', '\n':
			continue
		case ',':
			end = i + 1
		}
		break
	}
	return o.keyStart, end
}

// overlayMembers lists the overlays and reports what is wrong with their
// shape: the value must be an object keyed by "label=value".
func overlayMembers(data []byte, ov overlaysMember) ([]member, []allowlist.Problem) {
	at := func(off int, path, format string, args ...any) allowlist.Problem {
		line, col := position(data, off)
		return allowlist.Problem{Path: path, Line: line, Column: col, Message: fmt.Sprintf(format, args...)}
	}
	path := "$." + OverlaysKey
	if isNull(data[ov.valStart:ov.valEnd]) {
		return nil, nil // "overlays": null means none
	}

	list, err := members(data, ov.valStart, ov.valEnd)
	if err != nil {
		return nil, []allowlist.Problem{at(ov.valStart, path,
			`%q must be an object mapping "label=value" to allowlist entries, like `+
				`{"role=web": {"authorizedProcesses": ["nginx"]}}, not %s`,
			OverlaysKey, kindOf(data[ov.valStart:ov.valEnd]))}
	}

	var problems []allowlist.Problem
	var good []member
	seen := map[string]bool{}
	for _, m := range list {
		p := fmt.Sprintf("%s[%q]", path, m.key)
		k, v, ok := strings.Cut(m.key, "=")
		switch {
		case !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "":
			problems = append(problems, at(m.keyStart, p,
				"an overlay is named by one host label as key=value, like \"role=web\", not %q", m.key))
		case seen[m.key]:
			problems = append(problems, at(m.keyStart, p,
				"overlay %q appears twice; the second would silently replace the first, merge them", m.key))
		default:
			seen[m.key] = true
			good = append(good, m)
		}
	}
	return good, problems
}

// OverlayNames returns the names of the overlays in data ("role=web"), in
// file order; nil when there are none or data is not a JSON object.
func OverlayNames(data []byte) []string {
	body := 0
	if len(data) >= 3 && string(data[:3]) == "\xef\xbb\xbf" {
		body = 3
	}
	top, err := members(data, body, len(data))
	if err != nil {
		return nil
	}
	ov, found := findOverlays(top)
	if !found {
		return nil
	}
	list, err := members(data, ov.valStart, ov.valEnd)
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(list))
	for _, m := range list {
		names = append(names, m.key)
	}
	return names
}
