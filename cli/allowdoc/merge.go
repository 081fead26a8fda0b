package allowdoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/arcanos-dev/arcanos/pkg/allowlist"
	"github.com/arcanos-dev/arcanos/pkg/overlay"
)

// checkMerged validates the base with one overlay's entries added, by the
// controller's own rule (pkg/overlay.AppendEntries): array entries after
// the base's, exact repeats skipped, and one pm2Ecosystem at most. Each
// problem points at the overlay entry causing it.
func checkMerged(data, base []byte, file string, o member, prefix string) []allowlist.Problem {
	var b, add map[string]json.RawMessage
	if json.Unmarshal(base, &b) != nil || json.Unmarshal(data[o.valStart:o.valEnd], &add) != nil {
		return nil // both parsed cleanly before; nothing more to learn here
	}
	if b == nil {
		b = map[string]json.RawMessage{}
	}

	// origin maps, per key, an index in the merged array to the overlay's.
	origin := map[string]map[int]int{}
	for _, key := range arrayKeys {
		if isNull(add[key]) {
			continue
		}
		merged, from, err := overlay.AppendEntries(b[key], add[key])
		if err != nil || from == nil {
			continue
		}
		b[key], origin[key] = merged, from
	}

	var out []allowlist.Problem
	if e := add[ecosystemKey]; !isNull(e) {
		if prev := b[ecosystemKey]; !isNull(prev) && !bytes.Equal(compact(prev), compact(e)) {
			line, col := position(data, memberOffset(data, o, ecosystemKey))
			out = append(out, allowlist.Problem{Path: prefix + "." + ecosystemKey, Line: line, Column: col,
				Message: fmt.Sprintf("the base already sets %s %s; a host has one ecosystem file", ecosystemKey, prev)})
		} else {
			b[ecosystemKey] = e
		}
	}

	merged, err := json.Marshal(b)
	if err != nil {
		return out
	}
	for _, p := range parse(merged, file, "") {
		if hostSide(p) {
			continue // already reported, as a warning, for the base or the overlay
		}
		p.Path, p.Line, p.Column = locateInOverlay(data, o, prefix, p.Path, origin)
		out = append(out, p)
	}
	return out
}

// locateInOverlay turns the path of a problem in the merged document (like
// $.authorizedServices[4]) into the path and position of the overlay entry
// it comes from. Paths it cannot place stay under the overlay's prefix.
func locateInOverlay(data []byte, o member, prefix, path string, origin map[string]map[int]int) (string, int, int) {
	line, col := position(data, o.valStart)
	for _, key := range arrayKeys {
		rest, ok := strings.CutPrefix(path, "$."+key+"[")
		if !ok {
			continue
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			break
		}
		i, err := strconv.Atoi(rest[:end])
		if err != nil {
			break
		}
		j, ok := origin[key][i]
		if !ok {
			break
		}
		if off, ok := elementOffset(data, o, key, j); ok {
			line, col = position(data, off)
		}
		return fmt.Sprintf("%s.%s[%d]%s", prefix, key, j, rest[end+1:]), line, col
	}
	return prefix + strings.TrimPrefix(path, "$"), line, col
}

// memberOffset finds where the value of the overlay's key starts.
func memberOffset(data []byte, o member, key string) int {
	list, err := members(data, o.valStart, o.valEnd)
	if err != nil {
		return o.valStart
	}
	for _, m := range list {
		if m.key == key {
			return m.valStart
		}
	}
	return o.valStart
}

// elementOffset finds where element i of the overlay's array key starts.
func elementOffset(data []byte, o member, key string, i int) (int, bool) {
	start := memberOffset(data, o, key)
	dec := json.NewDecoder(bytes.NewReader(data[start:o.valEnd]))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return 0, false
	}
	for n := 0; dec.More(); n++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return 0, false
		}
		if n == i {
			return start + int(dec.InputOffset()) - len(raw), true
		}
	}
	return 0, false
}

func compact(raw json.RawMessage) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

// isNull reports a value that is absent or null: "not set".
func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}
