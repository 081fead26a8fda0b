package xdg

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// entry is the [Desktop Entry] group of one .desktop file, reduced to the keys
// that decide whether and what it starts.
type entry struct {
	values map[string]string // unlocalised keys of [Desktop Entry] only
	lines  map[string]int    // line of each key, for notes
	notes  []string
}

// enableKeys are the desktop-specific keys that switch an autostart entry off
// when false. Each session reads only its own key; we report all of them.
var enableKeys = []string{
	"X-GNOME-Autostart-enabled",
	"X-KDE-autostart-enabled",
	"X-MATE-Autostart-enabled",
	"X-XFCE-Autostart-enabled",
	"X-LXQt-Autostart-enabled",
}

// parseDesktop reads the [Desktop Entry] group of a desktop file. Other groups
// (actions, vendor extensions) are skipped: they never start anything at login.
func parseDesktop(data []byte) entry {
	e := entry{values: map[string]string{}, lines: map[string]int{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)

	group := ""
	seenGroup := false
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			group = line[1 : len(line)-1]
			if !seenGroup && group != "Desktop Entry" {
				e.notes = append(e.notes, fmt.Sprintf("first group is [%s], not [Desktop Entry]", group))
			}
			seenGroup = true
			continue
		}
		if group != "Desktop Entry" {
			continue
		}

		key, value, ok := strings.Cut(line, "=")
		if !ok {
			e.notes = append(e.notes, fmt.Sprintf("line %d is neither a key nor a group", n))
			continue
		}
		key = strings.TrimSpace(key)
		if strings.Contains(key, "[") {
			continue // localised variant
		}
		if _, dup := e.values[key]; dup {
			e.notes = append(e.notes, fmt.Sprintf("key %s repeated on line %d; the first is used", key, n))
			continue
		}
		e.values[key] = unescape(strings.TrimSpace(value))
		e.lines[key] = n
	}
	if err := sc.Err(); err != nil {
		e.notes = append(e.notes, fmt.Sprintf("stopped reading at line %d: %v", n+1, err))
	}
	if !seenGroup {
		e.notes = append(e.notes, "no [Desktop Entry] group")
	}
	return e
}

// boolean reads a boolean key. ok is false when the key is absent. The spec
// knows only "true" and "false"; anything else is noted and read as def.
func (e *entry) boolean(key string, def bool, meaning string) (value, ok bool) {
	v, ok := e.values[key]
	if !ok {
		return def, false
	}
	switch v {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	e.notes = append(e.notes, fmt.Sprintf("invalid boolean %s=%q on line %d (only true or false are valid): %s",
		key, v, e.lines[key], meaning))
	return def, true
}

// unescape applies the desktop entry string escapes \s \n \t \r \\.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 's':
			b.WriteByte(' ')
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '\\':
			b.WriteByte('\\')
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// stripFieldCodes removes the Exec field codes (%f %F %u %U %i %c %k and the
// deprecated ones), which a session fills with nothing at login, and turns
// %% into %.
func stripFieldCodes(exec string) string {
	var b strings.Builder
	for i := 0; i < len(exec); i++ {
		if exec[i] != '%' || i+1 == len(exec) {
			b.WriteByte(exec[i])
			continue
		}
		i++
		if exec[i] == '%' {
			b.WriteByte('%')
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
