package allowlist

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// kind is the JSON type of a node.
type kind int

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

func (k kind) String() string {
	return [...]string{"null", "a boolean", "a number", "a string", "an array", "an object"}[k]
}

// node is one JSON value with the byte offset at which it starts, so that
// validation can point at it. encoding/json's Unmarshal forgets positions, so
// the document is read token by token instead.
type node struct {
	kind    kind
	off     int
	str     string // kindString
	text    string // kindNumber and kindBool, as written
	members []member
	elems   []*node
}

// member is one key of an object, with the offset of the key itself.
type member struct {
	key    string
	keyOff int
	val    *node
}

// maxDepth bounds nesting so that a hostile file cannot exhaust the stack.
const maxDepth = 64

// syntaxError is a JSON error at a byte offset.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

// decodeTree reads one JSON document into a tree of positioned nodes.
func decodeTree(data []byte) (*node, error) {
	t := &treeReader{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	t.dec.UseNumber()

	root, err := t.value(0)
	if err != nil {
		return nil, err
	}

	start := t.next()
	if _, err := t.dec.Token(); err != io.EOF {
		return nil, &syntaxError{off: start, msg: "unexpected data after the top-level object; " +
			"the file must hold exactly one JSON object"}
	}
	return root, nil
}

type treeReader struct {
	data []byte
	dec  *json.Decoder
}

// next returns the offset at which the decoder's next token starts: past the
// whitespace and the ',' or ':' separators that Token consumes silently.
func (t *treeReader) next() int {
	off := int(t.dec.InputOffset())
	for off < len(t.data) {
		switch t.data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

func (t *treeReader) token() (json.Token, int, error) {
	off := t.next()
	tok, err := t.dec.Token()
	if err == nil {
		return tok, off, nil
	}

	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		// In Token mode, Offset is that of the offending byte.
		return nil, off, &syntaxError{off: int(se.Offset), msg: "invalid JSON: " + se.Error()}
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return nil, off, &syntaxError{off: len(t.data),
			msg: "invalid JSON: the file ends before the document is complete; check for a missing } or ]"}
	default:
		return nil, off, &syntaxError{off: off, msg: "invalid JSON: " + err.Error()}
	}
}

func (t *treeReader) value(depth int) (*node, error) {
	tok, off, err := t.token()
	if err != nil {
		return nil, err
	}
	if depth > maxDepth {
		return nil, &syntaxError{off: off, msg: fmt.Sprintf("nesting deeper than %d levels", maxDepth)}
	}

	switch v := tok.(type) {
	case nil:
		return &node{kind: kindNull, off: off}, nil
	case bool:
		return &node{kind: kindBool, off: off, text: fmt.Sprint(v)}, nil
	case json.Number:
		return &node{kind: kindNumber, off: off, text: v.String()}, nil
	case string:
		return &node{kind: kindString, off: off, str: v}, nil
	case json.Delim:
		if v == '[' {
			return t.array(off, depth)
		}
		return t.object(off, depth)
	}
	return nil, &syntaxError{off: off, msg: fmt.Sprintf("invalid JSON: unexpected token %v", tok)}
}

func (t *treeReader) array(off, depth int) (*node, error) {
	n := &node{kind: kindArray, off: off}
	for t.dec.More() {
		el, err := t.value(depth + 1)
		if err != nil {
			return nil, err
		}
		n.elems = append(n.elems, el)
	}
	if _, _, err := t.token(); err != nil { // the closing ]
		return nil, err
	}
	return n, nil
}

func (t *treeReader) object(off, depth int) (*node, error) {
	n := &node{kind: kindObject, off: off}
	for t.dec.More() {
		tok, keyOff, err := t.token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, &syntaxError{off: keyOff, msg: "invalid JSON: object key must be a string"}
		}
		val, err := t.value(depth + 1)
		if err != nil {
			return nil, err
		}
		n.members = append(n.members, member{key: key, keyOff: keyOff, val: val})
	}
	if _, _, err := t.token(); err != nil { // the closing }
		return nil, err
	}
	return n, nil
}
