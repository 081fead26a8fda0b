package settings

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func fleetFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.String("controller", "", "")
	fs.String("state-dir", DefaultStateDir, "")
	fs.StringToString("labels", nil, "")
	fs.Bool("allow-real", false, "")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestFleetDefaultsRefuseRealPurges(t *testing.T) {
	a, err := Load("", fleetFlags(t))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultFleet()
	if a.Fleet.AllowReal {
		t.Error("real purges from a controller must be refused by default")
	}
	if a.Fleet.StateDir != want.StateDir || a.Fleet.Heartbeat != 10*time.Second ||
		a.Fleet.BackoffMin != time.Second || a.Fleet.BackoffMax != time.Minute {
		t.Errorf("fleet defaults = %+v, want %+v", a.Fleet, want)
	}
	if len(a.Fleet.Labels) != 0 {
		t.Errorf("labels = %v, want none", a.Fleet.Labels)
	}
}

func TestFleetFromFileEnvAndFlags(t *testing.T) {
	file := writeFile(t, `fleet:
  controller: ctl:7443
  state_dir: /srv/agent
  labels: {role: web, env: prod}
  backoff_max: 2m
`)
	t.Setenv("ARCANOS_FLEET_ALLOW_REAL", "true")
	t.Setenv("ARCANOS_FLEET_HEARTBEAT", "5s")

	a, err := Load(file, fleetFlags(t, "--controller", "unix:///run/ctl.sock"))
	if err != nil {
		t.Fatal(err)
	}
	f := a.Fleet
	if f.Controller != "unix:///run/ctl.sock" || f.StateDir != "/srv/agent" || !f.AllowReal ||
		f.Heartbeat != 5*time.Second || f.BackoffMax != 2*time.Minute {
		t.Errorf("fleet = %+v", f)
	}
	if !maps.Equal(f.Labels, map[string]string{"role": "web", "env": "prod"}) {
		t.Errorf("labels from the file = %v", f.Labels)
	}

	t.Setenv("ARCANOS_FLEET_LABELS", "role=cache, tier=2")
	a, err = Load(file, fleetFlags(t))
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(a.Fleet.Labels, map[string]string{"role": "cache", "tier": "2"}) {
		t.Errorf("ARCANOS_FLEET_LABELS must replace the file's labels, got %v", a.Fleet.Labels)
	}
	t.Setenv("ARCANOS_FLEET_LABELS", "role")
	if _, err := Load(file, fleetFlags(t)); err == nil || !strings.Contains(err.Error(), "key=value") {
		t.Errorf("a label without = must be an error saying how to write it, got %v", err)
	}

	t.Setenv("ARCANOS_FLEET_LABELS", "role=cache")
	a, err = Load(file, fleetFlags(t, "--labels", "role=db"))
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(a.Fleet.Labels, map[string]string{"role": "db"}) {
		t.Errorf("--labels must replace the file's labels, got %v", a.Fleet.Labels)
	}
}

func TestFleetValidateNamesTheKey(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Fleet)
		want string
	}{
		{"relative state dir", func(f *Fleet) { f.StateDir = "state" }, "fleet.state_dir"},
		{"no heartbeat", func(f *Fleet) { f.Heartbeat = 0 }, "fleet.heartbeat"},
		{"no backoff", func(f *Fleet) { f.BackoffMin = 0 }, "fleet.backoff_min"},
		{"max below min", func(f *Fleet) { f.BackoffMax = time.Millisecond }, "fleet.backoff_max"},
		{"label key with =", func(f *Fleet) { f.Labels = map[string]string{"a=b": "c"} }, `label key "a=b"`},
		{"label value with comma", func(f *Fleet) { f.Labels = map[string]string{"a": "b,c"} }, `value "b,c"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := Defaults()
			c.edit(&a.Fleet)
			err := a.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate() = %v, want an error naming %q", err, c.want)
			}
		})
	}
	if err := Defaults().Validate(); err != nil {
		t.Fatalf("defaults must validate: %v", err)
	}
}
