// Package overlay turns the central allowlist document into each host's
// effective allowlist: the operators' JSON format plus an optional
// "overlays" object that maps "label=value" to extra entries, merged for the
// labels a host carries, and validated with pkg/allowlist like the agent does.
package overlay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// OverlaysKey is the document key that holds the per-label overlays.
const OverlaysKey = "overlays"

// Keys whose arrays overlays extend, and the one scalar they may set.
const (
	keyProcesses = "authorizedProcesses"
	keyServices  = "authorizedServices"
	keyImages    = "allowedDockerImages"
	keyEcosystem = "pm2Ecosystem"
)

var arrayKeys = map[string]bool{keyProcesses: true, keyServices: true, keyImages: true}

// ArrayKeys are the allowlist keys whose entries an overlay adds to the
// base; EcosystemKey is the one scalar an overlay may set, once.
var ArrayKeys = []string{keyProcesses, keyServices, keyImages}

// EcosystemKey is the allowlist key of the PM2 ecosystem file.
const EcosystemKey = keyEcosystem

// Document is a parsed central allowlist document.
type Document struct {
	raw      []byte
	hasKey   bool                                  // the document has an overlays key
	base     map[string]json.RawMessage            // every top-level key but overlays
	overlays map[string]map[string]json.RawMessage // "k=v" -> keys
}

// Parse splits a central allowlist document into its base and its overlays.
// It checks only the document's shape; Validate checks the allowlists.
func Parse(doc []byte) (*Document, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil || top == nil {
		// The base's own validation gives the precise position.
		return &Document{raw: doc, base: map[string]json.RawMessage{}}, nil
	}

	d := &Document{raw: doc, base: top, overlays: map[string]map[string]json.RawMessage{}}
	raw, ok := top[OverlaysKey]
	if !ok {
		return d, nil
	}
	delete(d.base, OverlaysKey)
	d.hasKey = true
	if isNull(raw) {
		return d, nil
	}

	var ov map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ov); err != nil {
		return nil, fmt.Errorf(`$.overlays must be an object like {"role=web": {"authorizedProcesses": ["nginx"]}}: %w`, err)
	}
	for label, body := range ov {
		k, v, ok := strings.Cut(label, "=")
		if !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("$.overlays[%q]: the key must be label=value, like role=web", label)
		}
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(body, &keys); err != nil || keys == nil {
			return nil, fmt.Errorf("$.overlays[%q] must be an object with the allowlist's keys", label)
		}
		d.overlays[label] = keys
	}
	return d, nil
}

// Raw returns the document as stored.
func (d *Document) Raw() []byte { return d.raw }

// Labels returns the overlay keys ("role=web"), sorted.
func (d *Document) Labels() []string {
	return slices.Sorted(maps.Keys(d.overlays))
}

// Applies returns the overlay keys that apply to a host with these labels,
// sorted, which is also the order they are merged in.
func (d *Document) Applies(labels map[string]string) []string {
	var out []string
	for _, key := range d.Labels() {
		k, v, _ := strings.Cut(key, "=")
		if got, ok := labels[k]; ok && got == v {
			out = append(out, key)
		}
	}
	return out
}

// Effective returns the allowlist of a host with these labels, in the
// operators' format: the base plus every overlay that applies. It also
// returns the overlays applied (its cache key).
func (d *Document) Effective(labels map[string]string) ([]byte, []string, error) {
	applied := d.Applies(labels)
	if !d.hasKey {
		// The operators' bytes as written, so the digest an agent records
		// is the digest of the document they set.
		return d.raw, nil, nil
	}
	doc, err := d.merge(applied)
	return doc, applied, err
}

// merge builds the base plus the named overlays. Array entries are added
// after the base's, skipping exact repeats; pm2Ecosystem may be set once.
func (d *Document) merge(applied []string) ([]byte, error) {
	out := maps.Clone(d.base)
	if out == nil {
		out = map[string]json.RawMessage{}
	}
	ecosystemFrom := ""
	if raw, ok := out[keyEcosystem]; ok && !isNull(raw) {
		ecosystemFrom = "the base"
	}

	for _, label := range applied {
		for key, raw := range d.overlays[label] {
			switch {
			case isNull(raw):
				continue
			case arrayKeys[key]:
				merged, err := appendArray(out[key], raw)
				if err != nil {
					return nil, fmt.Errorf("$.overlays[%q].%s: %w", label, key, err)
				}
				out[key] = merged
			case key == keyEcosystem:
				if prev, ok := out[key]; ok && !isNull(prev) && !bytes.Equal(compact(prev), compact(raw)) {
					return nil, fmt.Errorf("$.overlays[%q].%s: %s already sets %s %s; a host has "+
						"one ecosystem file", label, key, ecosystemFrom, key, prev)
				}
				out[key], ecosystemFrom = raw, fmt.Sprintf("overlay %q", label)
			default:
				// Unknown keys go through, so validation names them with
				// its "did you mean".
				out[key] = raw
			}
		}
	}
	return json.MarshalIndent(out, "", "  ")
}

// appendArray appends the elements of add to base, both JSON arrays,
// skipping elements already present byte for byte (after compaction).
func appendArray(base, add json.RawMessage) (json.RawMessage, error) {
	merged, _, err := AppendEntries(base, add)
	return merged, err
}

// AppendEntries is the one rule by which an overlay extends an array of the
// base: add's elements go after base's, skipping exact repeats (compared
// after compaction). origin maps each index of merged that came from add to
// its index in add, so a caller can point a problem at the overlay entry.
// A malformed base is returned as it is, for validation to report.
func AppendEntries(base, add json.RawMessage) (merged json.RawMessage, origin map[int]int, err error) {
	var have, extra []json.RawMessage
	if len(base) > 0 && !isNull(base) {
		if err := json.Unmarshal(base, &have); err != nil {
			return base, nil, nil
		}
	}
	if err := json.Unmarshal(add, &extra); err != nil {
		return nil, nil, fmt.Errorf("must be an array: %w", err)
	}

	seen := map[string]bool{}
	for _, el := range have {
		seen[string(compact(el))] = true
	}
	origin = map[int]int{}
	for j, el := range extra {
		if key := string(compact(el)); !seen[key] {
			seen[key] = true
			origin[len(have)] = j
			have = append(have, el)
		}
	}
	merged, err = json.Marshal(have)
	return merged, origin, err
}

func compact(raw json.RawMessage) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// AuthorizesNothing reports whether neither the base nor any overlay names
// anything to authorize: every key absent, null, or an empty list or
// string. Every daemon of every host is unauthorized under such a document.
func (d *Document) AuthorizesNothing() bool {
	if !empty(d.base) {
		return false
	}
	for _, keys := range d.overlays {
		if !empty(keys) {
			return false
		}
	}
	return true
}

// AuthorizesNothingFor reports whether a host with these labels would get
// an effective allowlist that authorizes nothing: the base and every
// overlay that applies to it are empty.
func (d *Document) AuthorizesNothingFor(labels map[string]string) bool {
	if !empty(d.base) {
		return false
	}
	for _, label := range d.Applies(labels) {
		if !empty(d.overlays[label]) {
			return false
		}
	}
	return true
}

// empty reports whether keys name nothing to authorize.
func empty(keys map[string]json.RawMessage) bool {
	for _, raw := range keys {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return false // not for this check to judge; validation says what is wrong
		}
		switch v := v.(type) {
		case nil:
		case []any:
			if len(v) > 0 {
				return false
			}
		case string:
			if v != "" {
				return false
			}
		default:
			return false
		}
	}
	return true
}
