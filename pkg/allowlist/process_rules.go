package allowlist

import (
	"fmt"
	"path"
	"strings"
)

// Keys of an object entry in authorizedProcesses.
var processKeys = []string{"name", "exe", "user", "sha256"}

func (c *checker) processes(p string, n *node) []ProcessRule {
	if !c.array(p, n, `["nginx", {"name": "node", "exe": "/usr/bin/node"}]`) {
		return nil
	}
	var out []ProcessRule
	first := map[ProcessRule]int{}
	for i, el := range n.elems {
		ep := fmt.Sprintf("%s[%d]", p, i)
		var r ProcessRule
		var ok bool
		switch el.kind {
		case kindString:
			r.Name, ok = c.processName(ep, el)
		case kindObject:
			r, ok = c.processObject(ep, el)
		default:
			c.add(ep, el.off, "entry must be a process name string or an object like "+
				`{"name": "nginx", "exe": "/usr/sbin/nginx"}, not %s`, el.kind)
		}
		if !ok {
			continue
		}
		if j, dup := first[r]; dup {
			c.add(ep, el.off, "duplicate of %s[%d]; remove one", keyProcesses, j)
			continue
		}
		first[r] = i
		out = append(out, r)
	}
	return out
}

func (c *checker) processName(p string, n *node) (string, bool) {
	s, ok := c.str(p, n, "process name")
	if !ok {
		return "", false
	}
	if strings.Contains(s, "/") {
		c.add(p, n.off, "process name %q holds a '/'; a name is matched against comm, "+
			`exe base name and argv0; to require a path write {"exe": %q}`, s, s)
		return "", false
	}
	return s, true
}

func (c *checker) processObject(p string, n *node) (ProcessRule, bool) {
	var r ProcessRule
	ok := true
	seen := map[string]bool{}
	for _, m := range n.members {
		mp := p + "." + m.key
		if seen[m.key] {
			c.add(mp, m.keyOff, "key %q appears twice in this entry; keep one", m.key)
			ok = false
			continue
		}
		seen[m.key] = true

		var good bool
		switch m.key {
		case "name":
			r.Name, good = c.processName(mp, m.val)
		case "exe":
			r.Exe, good = c.exe(mp, m.val)
		case "user":
			r.User, good = c.str(mp, m.val, "user")
			if good && strings.ContainsAny(r.User, " \t\n:/") {
				c.add(mp, m.val.off, "user %q is not a user name or uid", r.User)
				good = false
			}
		case "sha256":
			r.SHA256, good = c.sha256(mp, m.val)
		default:
			c.add(mp, m.keyOff, "unknown key %q in a process entry%s; known keys are %s",
				m.key, suggest(m.key, processKeys), strings.Join(processKeys, ", "))
		}
		ok = ok && good
	}
	if ok && r.Name == "" && r.Exe == "" {
		c.add(p, n.off, `entry needs "name" or "exe" (or both); a rule on user or sha256 `+
			"alone would authorize too much")
		ok = false
	}
	if ok && r.Exe != "" {
		r.exeAlias = exeAlias(r.Exe)
	}
	return r, ok
}

func (c *checker) exe(p string, n *node) (string, bool) {
	s, ok := c.str(p, n, "exe")
	if !ok {
		return "", false
	}
	if !strings.HasPrefix(s, "/") {
		c.add(p, n.off, "exe %q must be an absolute path or glob like /usr/sbin/nginx "+
			"or /usr/sbin/*", s)
		return "", false
	}
	if _, err := path.Match(s, ""); err != nil {
		c.add(p, n.off, "exe %q is not a valid glob (%v); check its [ ] and \\ "+
			"(rules of Go's path.Match)", s, err)
		return "", false
	}
	if path.Clean(s) != s {
		c.add(p, n.off, "exe %q is not a clean path; write %q", s, path.Clean(s))
		return "", false
	}
	return s, true
}

func (c *checker) sha256(p string, n *node) (string, bool) {
	s, ok := c.str(p, n, "sha256")
	if !ok {
		return "", false
	}
	h := strings.ToLower(strings.TrimPrefix(s, "sha256:"))
	if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		c.add(p, n.off, "sha256 %q is not 64 hex digits; take it from `sha256sum EXE`", s)
		return "", false
	}
	return h, true
}
