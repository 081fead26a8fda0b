package systemd_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/startup"
	"github.com/arcanos-dev/arcanos/pkg/startup/initd"
	"github.com/arcanos-dev/arcanos/pkg/startup/unitfiles"
	"github.com/arcanos-dev/arcanos/pkg/systemd"
)

func dialContainer(t *testing.T, c *container) *systemd.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	client, err := systemd.Dial(ctx, c.bus())
	if err != nil {
		t.Fatalf("Dial %s: %v", c.bus(), err)
	}
	t.Cleanup(client.Close)
	return client
}

func unitByName(units []systemd.Unit, name string) (systemd.Unit, bool) {
	i := slices.IndexFunc(units, func(u systemd.Unit) bool { return u.Name == name })
	if i < 0 {
		return systemd.Unit{}, false
	}
	return units[i], true
}

func TestUnitsKeepActiveAndEnabledApart(t *testing.T) {
	c := systemdContainer(t)
	client := dialContainer(t, c)

	units, err := client.Units(t.Context())
	if err != nil {
		t.Fatalf("Units: %v", err)
	}

	tests := []struct {
		name              string
		load, active, sub string
		fileState         string
		mainPID, result   bool
	}{
		{"arcanos-sleep.service", "loaded", "active", "running", "enabled", true, true},
		{"arcanos-stopped.service", "loaded", "inactive", "dead", "enabled", false, true},
		{"arcanos-fail.service", "loaded", "failed", "failed", "static", false, true},
		// Disabled and never started: only its unit file makes it known.
		{"arcanos-idle.service", "", "inactive", "dead", "disabled", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, ok := unitByName(units, tt.name)
			if !ok {
				t.Fatalf("%s not listed", tt.name)
			}
			if u.LoadState != tt.load || u.ActiveState != tt.active || u.SubState != tt.sub ||
				u.UnitFileState != tt.fileState {
				t.Errorf("%s = load %q active %q sub %q file %q; want %q %q %q %q", tt.name,
					u.LoadState, u.ActiveState, u.SubState, u.UnitFileState,
					tt.load, tt.active, tt.sub, tt.fileState)
			}
			if (u.MainPID != 0) != tt.mainPID || (u.Result != "") != tt.result {
				t.Errorf("%s MainPID=%d Result=%q, want pid=%v result=%v",
					tt.name, u.MainPID, u.Result, tt.mainPID, tt.result)
			}
			if u.FragmentPath != "/etc/systemd/system/"+tt.name {
				t.Errorf("%s FragmentPath = %q", tt.name, u.FragmentPath)
			}
		})
	}

	sleeper, _ := unitByName(units, "arcanos-sleep.service")
	if want := c.show("arcanos-sleep.service", "MainPID"); fmt.Sprint(sleeper.MainPID) != want {
		t.Errorf("MainPID = %d, systemctl show says %s", sleeper.MainPID, want)
	}
	if masked, ok := unitByName(units, "arcanos-masked.service"); !ok || masked.UnitFileState != "masked" {
		t.Errorf("arcanos-masked.service = %+v, want unit-file state masked", masked)
	}
}

func TestFailedListsTheFailingUnitWithItsResult(t *testing.T) {
	client := dialContainer(t, systemdContainer(t))

	failed, err := client.Failed(t.Context())
	if err != nil {
		t.Fatalf("Failed: %v", err)
	}
	u, ok := unitByName(failed, "arcanos-fail.service")
	if !ok {
		t.Fatalf("arcanos-fail.service not in %+v", failed)
	}
	if u.Result != "exit-code" || u.ActiveState != "failed" || u.UnitFileState != "static" {
		t.Errorf("arcanos-fail.service = %+v, want failed with Result exit-code, static", u)
	}
	if _, ok := unitByName(failed, "arcanos-sleep.service"); ok {
		t.Errorf("a running unit is listed as failed: %+v", failed)
	}
}

func TestUnitFileStatesIsSystemdsView(t *testing.T) {
	client := dialContainer(t, systemdContainer(t))

	states, err := client.UnitFileStates(t.Context())
	if err != nil {
		t.Fatalf("UnitFileStates: %v", err)
	}
	want := map[string]string{
		"arcanos-masked.service":  "masked",
		"arcanos-sleep.service":   "enabled",
		"arcanos-stopped.service": "enabled",
		"arcanos-idle.service":    "disabled",
		"arcanos-fail.service":    "static",
	}
	for name, st := range want {
		if states[name] != st {
			t.Errorf("UnitFileStates[%s] = %q, want %q", name, states[name], st)
		}
	}
}

func TestRestartRestartsTheUnit(t *testing.T) {
	c := systemdContainer(t)
	client := dialContainer(t, c)
	const unit = "arcanos-sleep.service"

	pidBefore := c.show(unit, "MainPID")
	enterBefore := c.show(unit, "ActiveEnterTimestampMonotonic")

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := client.Restart(ctx, unit); err != nil {
		t.Fatalf("Restart: %v", err)
	}

	pidAfter := c.show(unit, "MainPID")
	enterAfter := c.show(unit, "ActiveEnterTimestampMonotonic")
	if pidAfter == pidBefore || pidAfter == "0" || enterAfter == enterBefore {
		t.Errorf("after Restart MainPID %s -> %s, ActiveEnterTimestamp %s -> %s; want both changed",
			pidBefore, pidAfter, enterBefore, enterAfter)
	}
	if st := c.show(unit, "ActiveState"); st != "active" {
		t.Errorf("after Restart %s is %s", unit, st)
	}

	if err := client.Restart(ctx, "arcanos-no-such.service"); err == nil {
		t.Error("Restart of a unit that does not exist succeeded")
	}
	if err := client.Restart(ctx, "arcanos-fail.service"); err == nil || !strings.Contains(err.Error(), "failed") {
		t.Errorf("Restart of a unit that fails = %v, want the failed job named", err)
	}
}

// The raw parse of the container's unit files must agree with systemd on
// every unit, and ApplySystemdView then has nothing to correct.
func TestRawUnitFilesAgreeWithSystemd(t *testing.T) {
	c := systemdContainer(t)
	client := dialContainer(t, c)

	root, err := os.OpenRoot(fmt.Sprintf("/proc/%d/root", c.pid))
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	users := startup.Users(root)
	items, err := unitfiles.Scan(t.Context(), root, users)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	states, err := client.UnitFileStates(t.Context())
	if err != nil {
		t.Fatalf("UnitFileStates: %v", err)
	}

	seen := map[string]bool{}
	for _, it := range items {
		if it.Scope != "system" {
			continue
		}
		seen[it.Name] = true
		if st, ok := states[it.Name]; ok && st != it.State {
			t.Errorf("%s: raw %s, systemd %s (notes %q)", it.Name, it.State, st, it.Notes)
		}
	}
	for name, st := range states {
		if !seen[name] {
			t.Errorf("systemd knows %s (%s), the raw scan does not", name, st)
		}
	}

	before := fmt.Sprint(items)
	unitfiles.ApplySystemdView(items, states)
	if after := fmt.Sprint(items); after != before {
		t.Errorf("ApplySystemdView changed items that already agreed")
	}

	sleeper := findItem(items, "arcanos-sleep.service")
	if sleeper == nil || !slices.Equal(sleeper.Starts, []string{"/bin/sleep 1000000"}) {
		t.Errorf("arcanos-sleep.service = %+v, want the drop-in's ExecStart", sleeper)
	}
	if masked := findItem(items, "arcanos-masked.service"); masked == nil ||
		!slices.Contains(masked.Notes, "overrides /lib/systemd/system/arcanos-masked.service") {
		t.Errorf("arcanos-masked.service = %+v, want the mask to override the vendor file", masked)
	}

	// The image ships /etc/init.d/dbus (native dbus.service exists) and
	// hwclock.sh (hwclock.service is masked): systemd runs neither script.
	scripts, err := initd.Scan(t.Context(), root, users, unitfiles.SystemUnitNames(items))
	if err != nil {
		t.Fatalf("initd.Scan: %v", err)
	}
	for _, name := range []string{"dbus", "hwclock.sh"} {
		i := slices.IndexFunc(scripts, func(it startup.Item) bool { return it.Name == name })
		if i < 0 || scripts[i].State != "shadowed" {
			t.Errorf("init script %s: %+v, want shadowed", name, scripts)
		}
	}
}

func findItem(items []startup.Item, name string) *startup.Item {
	for i := range items {
		if items[i].Scope == "system" && items[i].Name == name {
			return &items[i]
		}
	}
	return nil
}
