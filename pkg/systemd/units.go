package systemd

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

const (
	busName      = "org.freedesktop.systemd1"
	unitIface    = "org.freedesktop.systemd1.Unit"
	serviceIface = "org.freedesktop.systemd1.Service"
	// propWindow is how many property reads are in flight at once: enough to
	// hide the round trips, few enough not to flood the bus.
	propWindow = 64
)

// Units lists every unit systemd knows: the loaded ones (ListUnits) merged
// with every unit file (ListUnitFiles), so that units enabled but not loaded
// are listed too, with LoadState empty and ActiveState inactive. MainPID and
// Result are read for loaded services only.
func (c *Client) Units(ctx context.Context) ([]Unit, error) {
	loaded, err := c.conn.ListUnitsContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list units: %w", err)
	}
	files, err := c.conn.ListUnitFilesContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list unit files: %w", err)
	}

	fileState := make(map[string]string, len(files))
	filePath := make(map[string]string, len(files))
	for _, f := range files {
		name := path.Base(f.Path)
		if _, seen := fileState[name]; !seen {
			fileState[name], filePath[name] = f.Type, f.Path
		}
	}

	units := make([]Unit, 0, len(loaded)+len(files))
	paths := make([]dbus.ObjectPath, 0, len(loaded))
	seen := make(map[string]bool, len(loaded))
	for _, st := range loaded {
		if seen[st.Name] {
			continue
		}
		seen[st.Name] = true
		units = append(units, fromStatus(st, fileState[st.Name]))
		paths = append(paths, st.Path)
	}
	if err := c.fill(ctx, units, paths, false); err != nil {
		return nil, err
	}

	for name, state := range fileState {
		if seen[name] {
			continue
		}
		units = append(units, Unit{
			Name:          name,
			ActiveState:   "inactive",
			SubState:      "dead",
			UnitFileState: state,
			FragmentPath:  filePath[name],
		})
	}
	sort.Slice(units, func(i, j int) bool { return units[i].Name < units[j].Name })
	return units, nil
}

// UnitFileStates maps every unit file name to its state as systemd itself
// judges it (enabled, enabled-runtime, disabled, masked, static, alias,
// indirect, generated, ...), after drop-ins, presets and masks.
func (c *Client) UnitFileStates(ctx context.Context) (map[string]string, error) {
	files, err := c.conn.ListUnitFilesContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list unit files: %w", err)
	}
	states := make(map[string]string, len(files))
	for _, f := range files {
		name := path.Base(f.Path)
		if _, seen := states[name]; !seen {
			states[name] = f.Type
		}
	}
	return states, nil
}

// Failed lists the units in the failed state, with their unit-file state
// and, for services, the Result that says how they failed.
func (c *Client) Failed(ctx context.Context) ([]Unit, error) {
	failed, err := c.conn.ListUnitsFilteredContext(ctx, []string{"failed"})
	if err != nil {
		return nil, fmt.Errorf("list failed units: %w", err)
	}

	units := make([]Unit, 0, len(failed))
	paths := make([]dbus.ObjectPath, 0, len(failed))
	for _, st := range failed {
		units = append(units, fromStatus(st, ""))
		paths = append(paths, st.Path)
	}
	if err := c.fill(ctx, units, paths, true); err != nil {
		return nil, err
	}
	sort.Slice(units, func(i, j int) bool { return units[i].Name < units[j].Name })
	return units, nil
}

func fromStatus(st sdbus.UnitStatus, fileState string) Unit {
	return Unit{
		Name:          st.Name,
		Description:   st.Description,
		LoadState:     st.LoadState,
		ActiveState:   st.ActiveState,
		SubState:      st.SubState,
		UnitFileState: fileState,
	}
}

// propRead is one property to read and where its value goes.
type propRead struct {
	path  dbus.ObjectPath
	iface string
	name  string
	set   func(dbus.Variant)
}

// fill reads FragmentPath of each unit (and UnitFileState when asked), and
// MainPID and Result of each service, keeping up to propWindow reads in
// flight on the connection.
func (c *Client) fill(ctx context.Context, units []Unit, paths []dbus.ObjectPath, fileState bool) error {
	var reads []propRead
	for i := range units {
		u := &units[i]
		reads = append(reads, propRead{paths[i], unitIface, "FragmentPath", func(v dbus.Variant) {
			_ = v.Store(&u.FragmentPath)
		}})
		if fileState {
			reads = append(reads, propRead{paths[i], unitIface, "UnitFileState", func(v dbus.Variant) {
				_ = v.Store(&u.UnitFileState)
			}})
		}
		if !strings.HasSuffix(u.Name, ".service") || u.LoadState != "loaded" {
			continue
		}
		reads = append(reads,
			propRead{paths[i], serviceIface, "MainPID", func(v dbus.Variant) { _ = v.Store(&u.MainPID) }},
			propRead{paths[i], serviceIface, "Result", func(v dbus.Variant) { _ = v.Store(&u.Result) }},
		)
	}

	for start := 0; start < len(reads); start += propWindow {
		batch := reads[start:min(start+propWindow, len(reads))]
		calls := make([]*dbus.Call, len(batch))
		for i, r := range batch {
			calls[i] = c.raw.Object(busName, r.path).GoWithContext(ctx,
				"org.freedesktop.DBus.Properties.Get", 0, nil, r.iface, r.name)
		}
		for i, call := range calls {
			<-call.Done
			var v dbus.Variant
			if err := call.Store(&v); err != nil {
				if ctx.Err() != nil || errors.Is(err, dbus.ErrClosed) {
					return fmt.Errorf("read unit properties: %w", err)
				}
				// The unit went away between the list and the read.
				continue
			}
			batch[i].set(v)
		}
	}
	return nil
}
