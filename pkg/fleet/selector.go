// Package fleet holds the fleet-wide rules the controller applies before it
// talks to any agent: which hosts a selector chooses, how many hosts a rolling
// run acts on at once, and when a schedule fires and each host starts.
package fleet

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// errEmptySelector is returned for a selector that names no host and no label,
// so that "all hosts" is always asked for explicitly (--hosts '*').
var errEmptySelector = errors.New("empty selector: select hosts with --hosts or --labels")

// Selector is a parsed host selector: host names and globs to include, globs
// to exclude, and labels every chosen host must carry. Build it with
// ParseSelector; the zero Selector matches no host.
type Selector struct {
	include []string // lowercased names or path.Match globs
	exclude []string // lowercased names or path.Match globs, without the "!"
	labels  map[string]string
}

// ParseSelector checks and parses a selector from the wire. Hosts is a
// comma-separated list of names and globs in path.Match syntax (web-*,
// web-[1-3], db-?); an entry starting with "!" excludes; a list of only
// exclusions means all hosts except those. Every label must match. Host names
// match case-insensitively, as DNS names do. A selector with neither hosts nor
// labels is an error: the caller asks for all hosts with "*".
func ParseSelector(s *arcanosv1.Selector) (Selector, error) {
	var sel Selector

	for entry := range strings.SplitSeq(s.GetHosts(), ",") {
		entry = strings.ToLower(strings.TrimSpace(entry))
		if entry == "" {
			continue
		}

		pattern, excluded := strings.CutPrefix(entry, "!")
		pattern = strings.TrimSpace(pattern)
		if pattern == "" {
			return Selector{}, fmt.Errorf(
				"selector entry %q: an exclusion needs a host name or glob after the \"!\"", entry)
		}
		if _, err := path.Match(pattern, ""); err != nil {
			return Selector{}, fmt.Errorf("selector entry %q: invalid glob (use *, ?, [1-3]): %w", entry, err)
		}

		if excluded {
			sel.exclude = append(sel.exclude, pattern)
		} else {
			sel.include = append(sel.include, pattern)
		}
	}

	for key, value := range s.GetLabels() {
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if key == "" {
			return Selector{}, fmt.Errorf("selector label %q=%q: the label key is empty", key, value)
		}
		if value == "" {
			return Selector{}, fmt.Errorf("selector label %q: no value given, write %s=VALUE", key, key)
		}
		if sel.labels == nil {
			sel.labels = make(map[string]string)
		}
		sel.labels[key] = value
	}

	if sel.empty() {
		return Selector{}, errEmptySelector
	}
	return sel, nil
}

// empty reports whether the selector names no host and no label.
func (s Selector) empty() bool {
	return len(s.include) == 0 && len(s.exclude) == 0 && len(s.labels) == 0
}

// Match reports whether a host with this name and these labels is selected.
func (s Selector) Match(hostname string, labels map[string]string) bool {
	if s.empty() {
		return false
	}
	name := strings.ToLower(hostname)

	if len(s.include) > 0 && !matchAny(s.include, name) {
		return false
	}
	if matchAny(s.exclude, name) {
		return false
	}
	for key, want := range s.labels {
		if got, ok := labels[key]; !ok || got != want {
			return false
		}
	}
	return true
}

// matchAny reports whether name matches one of the already validated patterns.
func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// String renders the selector for logs, events and run details, for example
// "hosts=web-*,!web-3 labels=env=prod,role=web".
func (s Selector) String() string {
	if s.empty() {
		return "none"
	}

	var parts []string
	if len(s.include)+len(s.exclude) > 0 {
		entries := slices.Clone(s.include)
		for _, p := range s.exclude {
			entries = append(entries, "!"+p)
		}
		parts = append(parts, "hosts="+strings.Join(entries, ","))
	}
	if len(s.labels) > 0 {
		pairs := make([]string, 0, len(s.labels))
		for key, value := range s.labels {
			pairs = append(pairs, key+"="+value)
		}
		slices.Sort(pairs)
		parts = append(parts, "labels="+strings.Join(pairs, ","))
	}
	return strings.Join(parts, " ")
}

// SelectHosts returns the hosts the selector chooses, in the order given. It is
// an error when it chooses none, so an operator's typo never becomes an empty
// run that looks like success.
func SelectHosts(sel Selector, hosts []*arcanosv1.Host) ([]*arcanosv1.Host, error) {
	if sel.empty() {
		return nil, errEmptySelector
	}

	// Selection is by host id, the name bound to the host's certificate:
	// the host name an agent reports in its hello is its own claim, and
	// matching on it would let an agent put itself into (or out of) a run.
	var chosen []*arcanosv1.Host
	for _, h := range hosts {
		if sel.Match(h.GetHostId(), h.GetLabels()) {
			chosen = append(chosen, h)
		}
	}
	if len(chosen) == 0 {
		return nil, fmt.Errorf(
			"selector %s matched none of %d known hosts; list them with arcanosctl hosts list",
			sel, len(hosts))
	}
	return chosen, nil
}
