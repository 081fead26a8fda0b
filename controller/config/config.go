// Package config holds arcanos-controller's settings: where it keeps its data,
// where it listens, how it judges agents alive, how long it keeps history,
// its schedules and how it logs. They come from a YAML file, the
// ARCANOS_CONTROLLER_* environment and flags, in rising order of precedence.
package config

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Controller is the complete set of controller settings.
type Controller struct {
	// DataDir holds the store (arcanos.db), the PKI (pki/) and the first
	// operator's CLI config (arcanosctl.yaml).
	DataDir string `mapstructure:"data_dir"`
	// Listen is host:port, or unix:///path.sock for a unix socket.
	Listen string `mapstructure:"listen"`
	// ServerNames are extra DNS names or IPs for the server certificate;
	// localhost, 127.0.0.1 and ::1 are always included.
	ServerNames []string `mapstructure:"server_names"`
	// InsecureDev serves plaintext without any authentication. Development
	// only; every start logs a warning.
	InsecureDev bool `mapstructure:"insecure_dev"`
	// MetricsListen is where /metrics and /healthz are served over plain
	// HTTP: host:port or unix:///path.sock; "" (the default) serves none.
	MetricsListen string `mapstructure:"metrics_listen"`

	Heartbeat Heartbeat  `mapstructure:"heartbeat"`
	Runs      Runs       `mapstructure:"runs"`
	Retention Retention  `mapstructure:"retention"`
	Log       Log        `mapstructure:"log"`
	Schedules []Schedule `mapstructure:"schedules"`
}

// Heartbeat says how often agents report and when a silent one is dropped.
type Heartbeat struct {
	// Interval is sent to agents in Welcome.
	Interval time.Duration `mapstructure:"interval"`
	// Missed is how many intervals may pass without any message before the
	// agent's stream is dropped.
	Missed int `mapstructure:"missed"`
}

// Deadline is how long a stream may stay silent before it is dropped.
func (h Heartbeat) Deadline() time.Duration {
	return h.Interval * time.Duration(h.Missed)
}

// Runs holds the defaults of a run.
type Runs struct {
	// Timeout bounds each host's run when StartPurge gives none.
	Timeout time.Duration `mapstructure:"timeout"`
	// Grace is how long after a host's deadline its result may still
	// arrive before the host is marked failed.
	Grace time.Duration `mapstructure:"grace"`
}

// Retention bounds the run history; zero disables a bound.
type Retention struct {
	MaxAge  time.Duration `mapstructure:"max_age"`
	MaxRuns int           `mapstructure:"max_runs"`
	// Every is how often retention is applied.
	Every time.Duration `mapstructure:"every"`
}

// Log says how the controller logs (log/slog).
type Log struct {
	// Level is debug, info, warn or error.
	Level string `mapstructure:"level"`
	// Format is text or json.
	Format string `mapstructure:"format"`
}

// Schedule is one recurring audit from the config file.
type Schedule struct {
	Name string `mapstructure:"name"`
	// Cron is a 5-field spec or a descriptor such as @daily.
	Cron string `mapstructure:"cron"`
	// Hosts is a selector's host list ("web-*,!web-3").
	Hosts string `mapstructure:"hosts"`
	// Labels every selected host must carry.
	Labels map[string]string `mapstructure:"labels"`
	// DryRun defaults to true: a schedule audits unless told otherwise.
	DryRun *bool `mapstructure:"dry_run"`
	// Spread spreads host starts over this window.
	Spread time.Duration `mapstructure:"spread"`
}

// IsDryRun reports whether the schedule audits only (the default).
func (s Schedule) IsDryRun() bool {
	return s.DryRun == nil || *s.DryRun
}

// Defaults returns the settings used when nothing else is said.
func Defaults() Controller {
	return Controller{
		DataDir:   "/var/lib/arcanos-controller",
		Listen:    "127.0.0.1:7443",
		Heartbeat: Heartbeat{Interval: 10 * time.Second, Missed: 3},
		Runs:      Runs{Timeout: 10 * time.Minute, Grace: 30 * time.Second},
		Retention: Retention{MaxAge: 90 * 24 * time.Hour, MaxRuns: 1000, Every: time.Hour},
		Log:       Log{Level: "info", Format: "text"},
	}
}

// Validate checks values that decode but make no sense.
func (c Controller) Validate() error {
	var errs []error
	if strings.TrimSpace(c.DataDir) == "" {
		errs = append(errs, errors.New("data_dir must not be empty"))
	}
	if strings.TrimSpace(c.Listen) == "" {
		errs = append(errs, errors.New("listen must be host:port or unix:///path.sock"))
	}
	if c.Heartbeat.Interval < time.Second {
		errs = append(errs, fmt.Errorf("heartbeat.interval %s is below 1s", c.Heartbeat.Interval))
	}
	if c.Heartbeat.Missed < 1 {
		errs = append(errs, errors.New("heartbeat.missed must be at least 1"))
	}
	if c.Runs.Timeout <= 0 {
		errs = append(errs, errors.New("runs.timeout must be positive, like 10m"))
	}
	if c.Runs.Grace < 0 {
		errs = append(errs, errors.New("runs.grace must not be negative"))
	}
	if c.Retention.MaxAge < 0 || c.Retention.MaxRuns < 0 {
		errs = append(errs, errors.New("retention.max_age and retention.max_runs must not be negative"))
	}
	if c.Retention.Every <= 0 {
		errs = append(errs, errors.New("retention.every must be positive, like 1h"))
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level %q: want debug, info, warn or error", c.Log.Level))
	}
	switch strings.ToLower(c.Log.Format) {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log.format %q: want text or json", c.Log.Format))
	}
	errs = append(errs, c.validateSchedules()...)
	return errors.Join(errs...)
}

func (c Controller) validateSchedules() []error {
	var errs []error
	seen := map[string]bool{}
	for i, s := range c.Schedules {
		switch {
		case strings.TrimSpace(s.Name) == "":
			errs = append(errs, fmt.Errorf("schedules[%d]: name is empty", i))
		case seen[s.Name]:
			errs = append(errs, fmt.Errorf("schedules[%d]: name %q used twice", i, s.Name))
		}
		seen[s.Name] = true
		if s.Hosts == "" && len(s.Labels) == 0 {
			errs = append(errs, fmt.Errorf("schedules[%d] %q: select hosts with hosts or labels "+
				"(hosts: \"*\" for every host)", i, s.Name))
		}
		if s.Spread < 0 {
			errs = append(errs, fmt.Errorf("schedules[%d] %q: spread must not be negative", i, s.Name))
		}
	}
	return errs
}
