package allowdoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// member is one key and value of a JSON object, located by byte offsets in
// the document the object came from.
type member struct {
	key      string
	keyStart int // offset of the key's opening quote
	before   int // offset right after the previous member (or the '{')
	valStart int
	valEnd   int
}

// errNotObject is returned by members when the bytes are not one JSON object.
var errNotObject = errors.New("not a JSON object")

// members lists the members of the JSON object in data[start:end], with
// offsets into data. It fails when that text is not a well-formed object, in
// which case pkg/allowlist is left to explain what is wrong.
func members(data []byte, start, end int) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(data[start:end]))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errNotObject
	}

	var out []member
	for dec.More() {
		before := start + int(dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		valEnd := start + int(dec.InputOffset())
		out = append(out, member{
			key:      key,
			keyStart: before + bytes.IndexByte(data[before:valEnd], '"'),
			before:   before,
			valStart: valEnd - len(raw),
			valEnd:   valEnd,
		})
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, err
	}
	if rest := bytes.TrimSpace(data[start+int(dec.InputOffset()) : end]); len(rest) > 0 {
		return nil, errNotObject
	}
	return out, nil
}

// blank returns data with every rune in [from, to) replaced by one space,
// newlines kept, so lines and columns of the rest stay where they were.
func blank(data []byte, from, to int) []byte {
	out := make([]byte, 0, len(data))
	out = append(out, data[:from]...)
	for i := from; i < to; {
		r, n := utf8.DecodeRune(data[i:])
		if r == '\n' {
			out = append(out, '\n')
		} else {
			out = append(out, ' ')
		}
		i += n
	}
	return append(out, data[to:]...)
}

// position returns the 1-based line and column (in runes) of byte offset off.
func position(data []byte, off int) (line, col int) {
	off = min(max(off, 0), len(data))
	lineStart := bytes.LastIndexByte(data[:off], '\n') + 1
	return bytes.Count(data[:off], []byte("\n")) + 1, utf8.RuneCount(data[lineStart:off]) + 1
}

// kindOf names the JSON kind of a value for a person, as pkg/allowlist does.
func kindOf(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
