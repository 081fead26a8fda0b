package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestLoadLayersFileEnvironmentAndFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "controller.yaml")
	yaml := `data_dir: /srv/arcanos
listen: 0.0.0.0:7443
heartbeat:
  interval: 5s
retention:
  max_runs: 10
schedules:
  - name: nightly
    cron: "0 3 * * *"
    hosts: "web-*"
    labels: {env: prod}
    spread: 30m
  - name: weekly-real
    cron: "@weekly"
    hosts: "db-*"
    dry_run: false
`
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ARCANOS_CONTROLLER_HEARTBEAT_MISSED", "5")
	t.Setenv("ARCANOS_CONTROLLER_LISTEN", "127.0.0.1:9000")

	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddFlags(fs)
	if err := fs.Parse([]string{"--listen", "unix:///run/arcanos.sock", "--log-level", "debug"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(file, fs)
	if err != nil {
		t.Fatal(err)
	}

	checks := []struct {
		name      string
		got, want any
	}{
		{"file sets data_dir", c.DataDir, "/srv/arcanos"},
		{"flag beats env and file", c.Listen, "unix:///run/arcanos.sock"},
		{"file sets heartbeat", c.Heartbeat.Interval, 5 * time.Second},
		{"env sets missed", c.Heartbeat.Missed, 5},
		{"deadline", c.Heartbeat.Deadline(), 25 * time.Second},
		{"flag sets level", c.Log.Level, "debug"},
		{"default kept", c.Runs.Timeout, 10 * time.Minute},
		{"file retention", c.Retention.MaxRuns, 10},
		{"schedules", len(c.Schedules), 2},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if s := c.Schedules[0]; s.Spread != 30*time.Minute || s.Labels["env"] != "prod" || !s.IsDryRun() {
		t.Errorf("nightly schedule %+v: want spread 30m, env=prod, dry run by default", s)
	}
	if c.Schedules[1].IsDryRun() {
		t.Error("dry_run: false was not kept")
	}
}

func TestLoadRefusesUnknownKeysAndBadValues(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", "listne: x\n", "listne"},
		{"heartbeat too short", "heartbeat: {interval: 10ms}\n", "heartbeat.interval"},
		{"schedule without hosts", "schedules: [{name: a, cron: '@daily'}]\n", "select hosts"},
		{"log format", "log: {format: xml}\n", "log.format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(file, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(file, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %q", err, tt.want)
			}
		})
	}
}

func TestExampleFileLoads(t *testing.T) {
	c, err := Load("controller.example.yaml", nil)
	if err != nil {
		t.Fatalf("controller.example.yaml: %v", err)
	}
	d := Defaults()
	if c.DataDir != d.DataDir || c.Heartbeat != d.Heartbeat || c.Runs != d.Runs ||
		c.Retention != d.Retention || c.Log != d.Log || len(c.Schedules) != 1 {
		t.Fatalf("example %+v does not show the defaults it claims", c)
	}
}
