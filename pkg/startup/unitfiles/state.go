package unitfiles

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// state judges a unit's unit-file state from the raw files, following the
// order systemctl is-enabled uses (systemd 252, src/shared/install.c):
// masked and alias (decided before), generated, transient, enabled by a
// link, linked, indirect, disabled, static. Links in vendor dirs do not
// enable a unit; links in runtime or generator dirs give enabled-runtime.
// LIMITATION: preset files are not read (they matter only to
// `systemctl preset`), and a unit whose [Install] has only Also= is
// "indirect" without checking the units it names.
func (sc *scope) state(name string, win candidate, info *unitInfo) (string, []string) {
	e := win.entry
	switch win.layer.kind {
	case generator:
		return "generated", nil
	case transient:
		return "transient", nil
	}

	enabled, persistent, notes := linkState(sc.links(name))
	if !enabled && isTemplate(name) {
		def := ""
		if info.defaultInstance != "" {
			def = strings.Replace(name, "@.", "@"+info.defaultInstance+".", 1)
		}
		instances := false
		for _, l := range sc.instanceLinks(name) {
			if l.layer.kind == vendor {
				continue
			}
			if l.entry.name == def {
				enabled = true
				persistent = persistent || l.layer.kind == config
				notes = append(notes, "enabled by /"+l.entry.rel)
				continue
			}
			instances = true
			notes = append(notes, fmt.Sprintf("instance %s enabled by /%s", l.entry.name, l.entry.rel))
		}
		if !enabled && instances {
			return "indirect", notes
		}
	}
	if enabled {
		if persistent {
			return "enabled", notes
		}
		return "enabled-runtime", notes
	}

	if e.link != "" {
		if win.layer.kind == config {
			return "linked", notes
		}
		return "linked-runtime", notes
	}
	indirect := false
	for _, a := range sc.aliases(name) {
		if a.layer.kind != vendor {
			indirect = true
			notes = append(notes, fmt.Sprintf("known also as %s (/%s)", a.entry.name, a.entry.rel))
		}
	}
	switch {
	case indirect:
		return "indirect", notes
	case info.installRules:
		return "disabled", notes
	case info.also:
		return "indirect", notes
	}
	return "static", notes
}

// linkState reads the .wants/.requires/.upholds links of a unit.
func linkState(links []candidate) (enabled, persistent bool, notes []string) {
	for _, l := range links {
		if l.layer.kind == vendor {
			notes = append(notes, fmt.Sprintf(
				"linked from vendor dir /%s, which does not enable it", path.Dir(l.entry.rel)))
			continue
		}
		enabled = true
		persistent = persistent || l.layer.kind == config
		notes = append(notes, "enabled by /"+l.entry.rel)
		if errors.Is(l.entry.err, ErrEscapes) {
			notes = append(notes, fmt.Sprintf(
				"link /%s: target %q points outside the audit root; not followed", l.entry.rel, l.entry.link))
		}
	}
	return enabled, persistent, notes
}

// ownLinks reports whether the user's own dirs link or alias the unit.
func (sc *scope) ownLinks(name string) bool {
	all := append(sc.links(name), sc.aliases(name)...)
	if isTemplate(name) {
		all = append(all, sc.instanceLinks(name)...)
	}
	for _, l := range all {
		if l.layer.own {
			return true
		}
	}
	return false
}

// templateHasFile reports whether name is an instance whose template has a
// unit file in the scope.
func (sc *scope) templateHasFile(name string) bool {
	at := strings.Index(name, "@")
	dot := strings.LastIndex(name, ".")
	if at < 0 || dot < at {
		return false
	}
	return len(sc.files(name[:at+1]+name[dot:])) > 0
}

func isTemplate(name string) bool {
	return strings.Contains(name, "@.")
}
