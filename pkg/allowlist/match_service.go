package allowlist

import (
	"fmt"
	"strings"
)

// unitSuffixes are systemd's unit types. An authorizedServices entry ending
// in one of them names exactly one unit.
var unitSuffixes = []string{
	".service", ".socket", ".timer", ".path", ".target", ".mount", ".automount",
	".swap", ".device", ".slice", ".scope",
}

// activators are the unit types that, under the same name, start a service:
// a bare entry "nginx" authorizes nginx.service and these.
var activators = []string{".service", ".socket", ".timer", ".path"}

// MatchService reports whether a systemd unit is authorized by
// authorizedServices and why. An entry with a unit suffix ("x.service",
// "x.timer") matches that unit only. A bare entry ("nginx") matches
// nginx.service and the units that activate it by name: nginx.socket,
// nginx.timer and nginx.path. A template entry ("getty@.service", or bare
// "getty@") matches every instance of the template ("getty@tty1.service").
func (a *Allowlist) MatchService(unit string) (bool, string) {
	if a == nil {
		return false, "no allowlist"
	}
	for i, e := range a.Services {
		if by, ok := matchUnit(e, unit); ok {
			return true, fmt.Sprintf("matches %s[%d] %q%s", keyServices, i, e, by)
		}
	}
	return false, "not in " + keyServices
}

func matchUnit(entry, unit string) (by string, ok bool) {
	if entry == unit {
		return "", true
	}

	suffix := unitSuffix(entry)
	if suffix == "" {
		for _, s := range activators {
			if unit == entry+s {
				return " as " + s[1:], true
			}
		}
		if strings.HasSuffix(entry, "@") {
			return matchTemplate(entry, ".service", unit)
		}
		return "", false
	}

	if base := strings.TrimSuffix(entry, suffix); strings.HasSuffix(base, "@") {
		return matchTemplate(base, suffix, unit)
	}
	return "", false
}

// matchTemplate matches unit against template prefix "name@" and suffix.
func matchTemplate(prefix, suffix, unit string) (string, bool) {
	if strings.HasPrefix(unit, prefix) && strings.HasSuffix(unit, suffix) &&
		len(unit) > len(prefix)+len(suffix) {
		return " as an instance of the template", true
	}
	return "", false
}

func unitSuffix(name string) string {
	for _, s := range unitSuffixes {
		if strings.HasSuffix(name, s) {
			return s
		}
	}
	return ""
}

// checkUnitName returns what is wrong with an authorizedServices entry, or "".
func checkUnitName(s string) string {
	if strings.ContainsAny(s, "*?[") {
		return fmt.Sprintf("service %q holds a glob; globs are not supported, list each "+
			"unit (a bare name covers its .service, .socket, .timer and .path)", s)
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune(":-_.\\@", r)
		if !ok {
			return fmt.Sprintf("service %q is not a systemd unit name (%q not allowed); "+
				"write it as systemctl shows it, like nginx.service", s, r)
		}
	}
	if unitSuffix(s) != "" && strings.TrimSuffix(s, unitSuffix(s)) == "" {
		return fmt.Sprintf("service %q has no name before its suffix", s)
	}
	return ""
}
