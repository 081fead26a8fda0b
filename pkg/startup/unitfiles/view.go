package unitfiles

import (
	"fmt"

	"github.com/arcanos-dev/arcanos/pkg/startup"
)

// ApplySystemdView lets systemd's own unit-file states (unit name ->
// enabled, masked, ..., as systemd.Client.UnitFileStates returns them) win
// over the raw parse for system units. Where the two differ, the raw state
// is kept in Notes so that the disagreement stays visible.
func ApplySystemdView(items []startup.Item, states map[string]string) {
	for i := range items {
		it := &items[i]
		if it.Kind != Kind || it.Scope != "system" {
			continue
		}
		st, ok := states[it.Name]
		if !ok || st == it.State {
			continue
		}
		it.Notes = append(it.Notes, fmt.Sprintf("raw unit files say %s; systemd says %s", it.State, st))
		it.State = st
	}
}

// SystemUnitNames lists the system units that exist as native unit files,
// masked ones included, for initd.Scan to tell which init scripts systemd
// ignores. Generated units are left out: systemd-sysv-generator writes one
// for each init script it runs.
func SystemUnitNames(items []startup.Item) map[string]bool {
	names := map[string]bool{}
	for _, it := range items {
		if it.Kind != Kind || it.Scope != "system" {
			continue
		}
		switch it.State {
		case "generated", "not-found", "unreadable":
			continue
		}
		names[it.Name] = true
	}
	return names
}
