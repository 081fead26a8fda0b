package pm2startup

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"github.com/coreos/go-systemd/v22/unit"
)

// pm2Unit holds the settings of a pm2 startup unit that say whose PM2 it
// resurrects. Environment= is read for PM2_HOME only: other variables may be
// secrets and are never kept.
type pm2Unit struct {
	user      string
	hasUser   bool
	pm2Home   string
	hasHome   bool
	pidFile   string
	execStart []string
	wantedBy  []string
	notes     []string
}

// apply reads one unit file or drop-in over u, later settings winning as in
// systemd.
func (u *pm2Unit) apply(data []byte, file string) {
	opts, err := unit.DeserializeOptions(bytes.NewReader(data))
	if err != nil {
		u.notes = append(u.notes, fmt.Sprintf("%s does not parse as a unit file: %v", file, err))
		return
	}
	for _, o := range opts {
		switch {
		case o.Section == "Service" && o.Name == "User":
			u.user, u.hasUser = o.Value, o.Value != ""
		case o.Section == "Service" && o.Name == "Environment":
			if o.Value == "" {
				u.pm2Home, u.hasHome = "", false
				continue
			}
			for _, word := range splitWords(o.Value) {
				if v, ok := strings.CutPrefix(word, "PM2_HOME="); ok {
					u.pm2Home, u.hasHome = v, true
				}
			}
		case o.Section == "Service" && o.Name == "EnvironmentFile":
			u.notes = append(u.notes, "EnvironmentFile= may set PM2_HOME; it is not read (it may hold secrets)")
		case o.Section == "Service" && o.Name == "PIDFile":
			u.pidFile = o.Value
		case o.Section == "Service" && o.Name == "ExecStart":
			if o.Value == "" {
				u.execStart = nil
				continue
			}
			u.execStart = append(u.execStart, o.Value)
		case o.Section == "Install" && (o.Name == "WantedBy" || o.Name == "RequiredBy"):
			u.wantedBy = append(u.wantedBy, strings.Fields(o.Value)...)
		}
	}
}

// resurrects reports whether an ExecStart line runs `pm2 resurrect`.
func (u *pm2Unit) resurrects() bool {
	for _, cmd := range u.execStart {
		w := splitWords(strings.TrimLeft(cmd, "-@:+!|"))
		if len(w) >= 2 && strings.HasPrefix(path.Base(w[0]), "pm2") && w[1] == "resurrect" {
			return true
		}
	}
	return false
}

// splitWords splits a systemd value into words, honouring double and single
// quotes and backslash escapes, as systemd does for Environment= and Exec
// lines.
func splitWords(s string) []string {
	var (
		words []string
		cur   strings.Builder
		quote byte
		in    bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			in = true
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}
