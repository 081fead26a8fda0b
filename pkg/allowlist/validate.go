package allowlist

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Top-level keys of the allowlist file.
const (
	keyProcesses = "authorizedProcesses"
	keyServices  = "authorizedServices"
	keyEcosystem = "pm2Ecosystem"
	keyImages    = "allowedDockerImages"
)

var topKeys = []string{keyProcesses, keyServices, keyEcosystem, keyImages}

// checker collects problems while an allowlist document is turned into an
// Allowlist, so that one run reports all of them.
type checker struct {
	lines    *lineIndex
	base     int // bytes stripped before decoding (a UTF-8 byte order mark)
	problems []Problem
}

func (c *checker) add(path string, off int, format string, args ...any) {
	line, col := c.lines.pos(c.base + off)
	c.problems = append(c.problems, Problem{
		Path: path, Line: line, Column: col, Message: fmt.Sprintf(format, args...),
	})
}

// build decodes and validates data; the allowlist is only meaningful when no
// problem is returned.
func build(data []byte, file string, opts ParseOptions) (*Allowlist, []Problem) {
	c := &checker{lines: newLineIndex(data)}
	body := data
	if bom := []byte("\xef\xbb\xbf"); bytes.HasPrefix(body, bom) {
		body, c.base = body[len(bom):], len(bom)
	}

	root, err := decodeTree(body)
	if err != nil {
		se := err.(*syntaxError)
		c.add("$", se.off, "%s", se.msg)
		return nil, c.problems
	}
	if root.kind != kindObject {
		c.add("$", root.off, "the allowlist must be a JSON object like "+
			`{"authorizedProcesses": ["nginx"]}, not %s`, root.kind)
		return nil, c.problems
	}

	a := &Allowlist{}
	seen := map[string]int{}
	for _, m := range root.members {
		p := "$." + m.key
		if first, dup := seen[m.key]; dup {
			c.add(p, m.keyOff, "key %q appears twice (first on line %d); "+
				"the second would silently replace the first, merge them", m.key, first)
			continue
		}
		line, _ := c.lines.pos(c.base + m.keyOff)
		seen[m.key] = line

		if m.val.kind == kindNull && isTopKey(m.key) {
			continue // null means "not set", like a missing key
		}
		switch m.key {
		case keyProcesses:
			a.Processes = c.processes(p, m.val)
		case keyServices:
			a.Services = c.services(p, m.val)
		case keyEcosystem:
			if opts.SkipHostFiles {
				a.PM2Ecosystem, _ = c.str(p, m.val, "pm2Ecosystem")
				continue
			}
			a.PM2Ecosystem, a.PM2Apps = c.ecosystem(p, m.val, file)
		case keyImages:
			a.Images, a.images = c.images(p, m.val)
		default:
			if slices.Contains(opts.ExtraKeys, m.key) {
				continue
			}
			c.add(p, m.keyOff, "unknown key %q%s; known keys are %s",
				m.key, suggest(m.key, topKeys), strings.Join(topKeys, ", "))
		}
	}
	return a, c.problems
}

func isTopKey(k string) bool {
	for _, t := range topKeys {
		if k == t {
			return true
		}
	}
	return false
}

// array reports whether n is an array, and reports a problem showing example
// when it is not.
func (c *checker) array(path string, n *node, example string) bool {
	if n.kind != kindArray {
		c.add(path, n.off, "must be an array of strings like %s, not %s", example, n.kind)
		return false
	}
	return true
}

// str checks that n is a non-empty string without surrounding spaces.
func (c *checker) str(path string, n *node, what string) (string, bool) {
	if n.kind != kindString {
		c.add(path, n.off, "%s must be a string, not %s", what, n.kind)
		return "", false
	}
	if strings.TrimSpace(n.str) == "" {
		c.add(path, n.off, "%s is empty; remove the entry or fill it in", what)
		return "", false
	}
	if strings.TrimSpace(n.str) != n.str {
		c.add(path, n.off, "%s %q has leading or trailing spaces; remove them", what, n.str)
		return "", false
	}
	return n.str, true
}

func (c *checker) services(path string, n *node) []string {
	if !c.array(path, n, `["nginx", "postgresql.service"]`) {
		return nil
	}
	var out []string
	first := map[string]int{}
	for i, el := range n.elems {
		p := fmt.Sprintf("%s[%d]", path, i)
		s, ok := c.str(p, el, "service")
		if !ok {
			continue
		}
		if msg := checkUnitName(s); msg != "" {
			c.add(p, el.off, "%s", msg)
			continue
		}
		if j, dup := first[s]; dup {
			c.add(p, el.off, "duplicate of %s[%d] %q; remove one", keyServices, j, s)
			continue
		}
		first[s] = i
		out = append(out, s)
	}
	return out
}

func (c *checker) ecosystem(path string, n *node, file string) (string, []string) {
	s, ok := c.str(path, n, "pm2Ecosystem")
	if !ok {
		return "", nil
	}

	abs := s
	if !filepath.IsAbs(s) {
		dir := "."
		if file != "" {
			dir = filepath.Dir(file)
		}
		abs = filepath.Join(dir, s)
	}
	if a, err := filepath.Abs(abs); err == nil {
		abs = a
	}

	apps, err := readEcosystem(abs)
	if err != nil {
		for _, e := range problemsOf(err) {
			c.add(path, n.off, "ecosystem file %s: %v", abs, e)
		}
		return "", nil
	}
	return abs, apps
}

func (c *checker) images(path string, n *node) ([]string, []imageRule) {
	if !c.array(path, n, `["postgres", "redis:7"]`) {
		return nil, nil
	}
	var raw []string
	var rules []imageRule
	first := map[string]int{}
	for i, el := range n.elems {
		p := fmt.Sprintf("%s[%d]", path, i)
		s, ok := c.str(p, el, "image")
		if !ok {
			continue
		}
		r, err := parseImageRule(s)
		if err != nil {
			c.add(p, el.off, "%v", err)
			continue
		}
		r.index = len(rules)
		if j, dup := first[r.key()]; dup {
			c.add(p, el.off, "same image as %s[%d] (%s); remove one", keyImages, j, r.key())
			continue
		}
		first[r.key()] = i
		raw = append(raw, s)
		rules = append(rules, r)
	}
	return raw, rules
}
