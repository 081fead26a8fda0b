package cron

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// reboot is one @reboot line of a crontab.
type reboot struct {
	line    int
	user    string // from the user field of a system crontab; empty otherwise
	command string
	envs    []string // names of the variables set above this line
	notes   []string
}

// parseReboots returns the @reboot lines of a crontab. system says the lines
// carry a user field (etc/crontab, etc/cron.d). Variable settings are noted by
// name only: their values may be secrets and never leave this function.
func parseReboots(data []byte, system bool) ([]reboot, []string) {
	var (
		out   []reboot
		notes []string
		envs  []string
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if name, ok := envName(line); ok {
			envs = appendOnce(envs, name)
			continue
		}

		fields := strings.Fields(line)
		if fields[0] != "@reboot" {
			continue
		}
		r := reboot{line: n, envs: append([]string(nil), envs...)}
		rest := strings.TrimSpace(strings.TrimPrefix(line, "@reboot"))
		if system {
			user, cmd := rest, ""
			if i := strings.IndexAny(rest, " \t"); i >= 0 {
				user, cmd = rest[:i], rest[i+1:]
			}
			r.user, rest = user, strings.TrimSpace(cmd)
		}
		r.command = rest
		if r.command == "" {
			r.notes = append(r.notes, fmt.Sprintf("line %d has no command: cron rejects it", n))
		}
		if hasUnescapedPercent(r.command) {
			r.notes = append(r.notes, "the command holds an unescaped %: cron sends the text after it to stdin")
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		notes = append(notes, fmt.Sprintf("stopped reading at line %d: %v", n+1, err))
	}
	return out, notes
}

// envName reports whether a crontab line sets a variable (NAME=value, with
// optional spaces and quotes around the name) and returns the name. Job lines
// start with a time field: a digit, '*' or '@'.
func envName(line string) (string, bool) {
	switch line[0] {
	case '@', '*', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "", false
	}
	name, _, ok := strings.Cut(line, "=")
	if !ok {
		return "", false
	}
	name = strings.Trim(strings.TrimSpace(name), `"'`)
	if name == "" || strings.ContainsAny(name, " \t") {
		return "", false
	}
	return name, true
}

func hasUnescapedPercent(cmd string) bool {
	for i := 0; i < len(cmd); i++ {
		switch cmd[i] {
		case '\\':
			i++
		case '%':
			return true
		}
	}
	return false
}

func appendOnce(list []string, s string) []string {
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}
