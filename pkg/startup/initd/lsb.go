package initd

import (
	"bufio"
	"regexp"
	"strings"
)

// header is the LSB comment block of an init script
// (### BEGIN INIT INFO ... ### END INIT INFO).
type header struct {
	found            bool
	provides         []string
	defaultStart     []string
	defaultStop      []string
	shortDescription string
}

// script is what Scan takes from an init script's text.
type script struct {
	header header
	// vars are the script's plain top-level assignments (NAME=value), with
	// earlier ones expanded in later values; a value that needs a shell to
	// compute is left out.
	vars map[string]string
	// chuid is the user of start-stop-daemon --chuid, when plain.
	chuid string
}

var (
	assignment = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)
	varRef     = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)
	// --chuid is distinctive anywhere (continuation lines included); -c
	// only on a start-stop-daemon line, since sh -c and su -c look alike.
	chuidLong  = regexp.MustCompile(`--chuid[\s=]+("[^"]*"|'[^']*'|[^\s;]+)`)
	chuidShort = regexp.MustCompile(`start-stop-daemon\s.*\s-c\s+("[^"]*"|'[^']*'|[^\s;]+)`)
	plainValue = regexp.MustCompile(`^[A-Za-z0-9@%+=:,./_-]*$`)
)

// parseScript reads the LSB header, the plain assignments and the
// start-stop-daemon user of an init script.
// LIMITATION: values a script takes from files it sources (/etc/default/NAME)
// or computes at run time are not seen; DAEMON and --chuid then fall back
// to what is written in the script, or to nothing.
func parseScript(text string) script {
	s := script{vars: map[string]string{}}
	var (
		inHeader bool
		lastKey  string
	)
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "### BEGIN INIT INFO"):
			inHeader, s.header.found = true, true
			continue
		case strings.HasPrefix(trimmed, "### END INIT INFO"):
			inHeader = false
			continue
		case inHeader:
			lastKey = s.header.add(line, lastKey)
			continue
		}

		if m := assignment.FindStringSubmatch(line); m != nil {
			if v, ok := s.expand(unquote(m[2])); ok {
				s.vars[m[1]] = v
			} else {
				delete(s.vars, m[1])
			}
		}
		m := chuidLong.FindStringSubmatch(line)
		if m == nil {
			m = chuidShort.FindStringSubmatch(line)
		}
		if m != nil && s.chuid == "" {
			if v, ok := s.expand(unquote(m[1])); ok && v != "" {
				s.chuid = v
			}
		}
	}
	return s
}

// add reads one header line and returns the key it set, for continuations.
func (h *header) add(line, lastKey string) string {
	body, ok := strings.CutPrefix(line, "#")
	if !ok {
		return ""
	}
	if strings.HasPrefix(body, "\t") || strings.HasPrefix(body, "  ") {
		if lastKey == "Short-Description" {
			h.shortDescription += " " + strings.TrimSpace(body)
		}
		return lastKey
	}
	key, value, ok := strings.Cut(strings.TrimSpace(body), ":")
	if !ok {
		return ""
	}
	value = strings.TrimSpace(value)
	switch key {
	case "Provides":
		h.provides = strings.Fields(value)
	case "Default-Start":
		h.defaultStart = strings.Fields(value)
	case "Default-Stop":
		h.defaultStop = strings.Fields(value)
	case "Short-Description":
		h.shortDescription = value
	}
	return key
}

// expand replaces $VAR and ${VAR} with the script's earlier plain values.
// ok is false when the value needs a shell: an unknown variable, command
// substitution, globbing or other shell syntax.
func (s *script) expand(v string) (string, bool) {
	ok := true
	out := varRef.ReplaceAllStringFunc(v, func(ref string) string {
		name := strings.Trim(ref, "${}")
		val, known := s.vars[name]
		if !known {
			ok = false
		}
		return val
	})
	if !ok || !plainValue.MatchString(out) {
		return "", false
	}
	return out, true
}

// unquote strips one pair of matching quotes and a trailing comment.
func unquote(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	return v
}
