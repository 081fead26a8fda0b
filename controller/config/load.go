package config

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// EnvPrefix prefixes every environment variable the controller reads:
// ARCANOS_CONTROLLER_DATA_DIR, ARCANOS_CONTROLLER_HEARTBEAT_INTERVAL, ...
const EnvPrefix = "ARCANOS_CONTROLLER"

// FlagKeys maps a command-line flag name to the settings key it sets.
var FlagKeys = map[string]string{
	"data-dir":           "data_dir",
	"listen":             "listen",
	"server-name":        "server_names",
	"insecure-dev":       "insecure_dev",
	"metrics-listen":     "metrics_listen",
	"heartbeat-interval": "heartbeat.interval",
	"heartbeat-missed":   "heartbeat.missed",
	"run-timeout":        "runs.timeout",
	"run-grace":          "runs.grace",
	"retention-max-age":  "retention.max_age",
	"retention-max-runs": "retention.max_runs",
	"log-level":          "log.level",
	"log-format":         "log.format",
}

// AddFlags declares the controller's flags on fs with their defaults.
func AddFlags(fs *pflag.FlagSet) {
	d := Defaults()
	fs.String("config", "", "YAML settings file")
	fs.String("data-dir", d.DataDir, "directory for the store, the PKI and arcanosctl.yaml")
	fs.String("listen", d.Listen, "address to serve on: host:port or unix:///path.sock")
	fs.StringSlice("server-name", nil, "extra DNS name or IP for the server certificate (repeatable)")
	fs.Bool("insecure-dev", false, "serve plaintext without authentication (development only)")
	fs.String("metrics-listen", "", "serve /metrics and /healthz over HTTP here, like 127.0.0.1:9464 (default: off)")
	fs.Duration("heartbeat-interval", d.Heartbeat.Interval, "how often agents send a heartbeat")
	fs.Int("heartbeat-missed", d.Heartbeat.Missed, "missed heartbeats before an agent's stream is dropped")
	fs.Duration("run-timeout", d.Runs.Timeout, "default per-host run timeout")
	fs.Duration("run-grace", d.Runs.Grace, "extra wait for a result after a host's deadline")
	fs.Duration("retention-max-age", d.Retention.MaxAge, "delete runs older than this (0: keep)")
	fs.Int("retention-max-runs", d.Retention.MaxRuns, "keep at most this many runs (0: no limit)")
	fs.String("log-level", d.Log.Level, "debug, info, warn or error")
	fs.String("log-format", d.Log.Format, "text or json")
}

func setDefaults(v *viper.Viper) {
	d := Defaults()
	v.SetDefault("data_dir", d.DataDir)
	v.SetDefault("listen", d.Listen)
	v.SetDefault("server_names", d.ServerNames)
	v.SetDefault("insecure_dev", d.InsecureDev)
	v.SetDefault("metrics_listen", d.MetricsListen)
	v.SetDefault("heartbeat.interval", d.Heartbeat.Interval)
	v.SetDefault("heartbeat.missed", d.Heartbeat.Missed)
	v.SetDefault("runs.timeout", d.Runs.Timeout)
	v.SetDefault("runs.grace", d.Runs.Grace)
	v.SetDefault("retention.max_age", d.Retention.MaxAge)
	v.SetDefault("retention.max_runs", d.Retention.MaxRuns)
	v.SetDefault("retention.every", d.Retention.Every)
	v.SetDefault("log.level", d.Log.Level)
	v.SetDefault("log.format", d.Log.Format)
	v.SetDefault("schedules", nil)
}

// Load reads settings from file (optional; "" means none), the
// ARCANOS_CONTROLLER_* environment and the flags in fs that were set. An
// unknown key in the file is an error that names it.
func Load(file string, fs *pflag.FlagSet) (Controller, error) {
	v := viper.New()
	setDefaults(v)

	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()

	if file != "" {
		v.SetConfigFile(file)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return Controller{}, fmt.Errorf("read controller settings %s: %w", file, err)
		}
	}

	if fs != nil {
		for flag, key := range FlagKeys {
			if f := fs.Lookup(flag); f != nil {
				if err := v.BindPFlag(key, f); err != nil {
					return Controller{}, fmt.Errorf("bind flag --%s: %w", flag, err)
				}
			}
		}
	}

	var c Controller
	if err := v.UnmarshalExact(&c); err != nil {
		return Controller{}, fmt.Errorf("controller settings %s: %w", nameOr(file), err)
	}
	return c, c.Validate()
}

func nameOr(file string) string {
	if file == "" {
		return "(environment and flags)"
	}
	return file
}
