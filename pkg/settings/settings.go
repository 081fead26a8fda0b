// Package settings holds the agent's own settings: where it logs, how long
// each part may take, whether it may terminate anything, and where its
// sources live. They come from a YAML file, ARCANOS_* environment variables
// and flags, in rising order of precedence (viper).
package settings

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Agent is the complete set of agent settings.
type Agent struct {
	// Allowlist is the path of authorized-services.json; empty means search
	// config/authorized-services.json, then the installed location.
	Allowlist string `mapstructure:"allowlist"`
	// LogDir receives daemon-scan.log and daemon-clean.log.
	LogDir string `mapstructure:"log_dir"`
	// Root is the filesystem root file audits read under ("/" on a host).
	Root string `mapstructure:"root"`
	// Hostname overrides the host name reported in results.
	Hostname string `mapstructure:"hostname"`

	Timeouts  Timeouts  `mapstructure:"timeouts"`
	Terminate Terminate `mapstructure:"terminate"`
	Caches    Caches    `mapstructure:"caches"`
	Services  Services  `mapstructure:"services"`
	Docker    Docker    `mapstructure:"docker"`
	PM2       PM2       `mapstructure:"pm2"`
	Systemd   Systemd   `mapstructure:"systemd"`
	Health    Health    `mapstructure:"health"`
	Fleet     Fleet     `mapstructure:"fleet"`

	// ProtectedNames are globs matched against a process's comm and exe base
	// name, and against unit names: matches are never acted on. They add to
	// DefaultProtectedNames, which cannot be removed.
	ProtectedNames []string `mapstructure:"protected_names"`
	// ComposeDirs are searched for compose files during the startup audit.
	ComposeDirs []string `mapstructure:"compose_dirs"`
}

// Timeouts bound the whole run, each phase and each source.
type Timeouts struct {
	Run    time.Duration `mapstructure:"run"`
	Phase  time.Duration `mapstructure:"phase"`
	Source time.Duration `mapstructure:"source"`
}

// Terminate is the host's own termination policy.
type Terminate struct {
	// Enabled lets a real (non-dry) run signal processes, stop containers
	// and stop PM2 apps. Off by default.
	Enabled bool `mapstructure:"enabled"`
	// Grace is how long a process has between SIGTERM and SIGKILL.
	Grace time.Duration `mapstructure:"grace"`
}

// Caches says what the caches phase may clean in a real run.
type Caches struct {
	PM2Logs     bool          `mapstructure:"pm2_logs"`
	Docker      bool          `mapstructure:"docker"`
	PidFiles    bool          `mapstructure:"pid_files"`
	PidDirs     []string      `mapstructure:"pid_dirs"`
	DockerAge   time.Duration `mapstructure:"docker_min_age"`
	DockerLabel []string      `mapstructure:"docker_labels"`
}

// Services says whether unhealthy authorized services are restarted.
type Services struct {
	Restart bool `mapstructure:"restart"`
}

// Docker locates the Docker engine.
type Docker struct {
	Host string `mapstructure:"host"`
}

// PM2 locates the pm2 command.
type PM2 struct {
	Bin string `mapstructure:"bin"`
}

// Systemd locates the system bus.
type Systemd struct {
	Bus string `mapstructure:"bus"`
}

// Health holds the thresholds the health phase warns at.
type Health struct {
	DiskPercent   float64 `mapstructure:"disk_percent"`
	MemoryPercent float64 `mapstructure:"memory_percent"`
	// LoadPerCPU is the 5-minute load average per CPU considered high.
	LoadPerCPU float64 `mapstructure:"load_per_cpu"`
}

// DefaultProtectedNames are the base system's own daemons: an audit names
// them, but a purge never acts on them whatever the allowlist says, as long
// as their executable is a system binary (under /usr, /bin, /sbin, /lib).
// The host's protected_names add to this list; nothing removes from it.
var DefaultProtectedNames = []string{
	"init", "systemd", "systemd-*", "(sd-pam)", "sshd", "sshd-session", "dbus-daemon",
	"dbus-broker*", "cron", "crond", "rsyslogd", "agetty", "login", "udevd", "polkitd",
	"containerd", "containerd-shim*", "dockerd", "docker-proxy", "chronyd", "ntpd",
	"irqbalance", "unattended-upgr*", "arcanos-agent", "arcanos-controller",
	"ssh.service", "dbus.service", "cron.service", "docker.service", "containerd.service",
	"getty@*.service", "serial-getty@*.service", "user@*.service",
}

// Defaults returns the settings used when nothing else is said.
func Defaults() Agent {
	return Agent{
		LogDir: "logs",
		Root:   "/",
		Timeouts: Timeouts{
			Run:    60 * time.Second,
			Phase:  30 * time.Second,
			Source: 15 * time.Second,
		},
		Terminate: Terminate{Enabled: false, Grace: 10 * time.Second},
		Caches: Caches{
			PM2Logs:   true,
			Docker:    true,
			PidFiles:  true,
			PidDirs:   []string{"/run", "/var/run", "/tmp"},
			DockerAge: 24 * time.Hour,
		},
		ComposeDirs: []string{"/srv", "/opt"},
		Health:      Health{DiskPercent: 90, MemoryPercent: 90, LoadPerCPU: 2},
		Fleet:       DefaultFleet(),
	}
}

// keys lists every settings key with its default, so viper knows them for
// environment lookups and strict decoding.
func setDefaults(v *viper.Viper) {
	d := Defaults()
	v.SetDefault("allowlist", d.Allowlist)
	v.SetDefault("log_dir", d.LogDir)
	v.SetDefault("root", d.Root)
	v.SetDefault("hostname", d.Hostname)
	v.SetDefault("timeouts.run", d.Timeouts.Run)
	v.SetDefault("timeouts.phase", d.Timeouts.Phase)
	v.SetDefault("timeouts.source", d.Timeouts.Source)
	v.SetDefault("terminate.enabled", d.Terminate.Enabled)
	v.SetDefault("terminate.grace", d.Terminate.Grace)
	v.SetDefault("caches.pm2_logs", d.Caches.PM2Logs)
	v.SetDefault("caches.docker", d.Caches.Docker)
	v.SetDefault("caches.pid_files", d.Caches.PidFiles)
	v.SetDefault("caches.pid_dirs", d.Caches.PidDirs)
	v.SetDefault("caches.docker_min_age", d.Caches.DockerAge)
	v.SetDefault("caches.docker_labels", d.Caches.DockerLabel)
	v.SetDefault("services.restart", d.Services.Restart)
	v.SetDefault("docker.host", d.Docker.Host)
	v.SetDefault("pm2.bin", d.PM2.Bin)
	v.SetDefault("systemd.bus", d.Systemd.Bus)
	v.SetDefault("health.disk_percent", d.Health.DiskPercent)
	v.SetDefault("health.memory_percent", d.Health.MemoryPercent)
	v.SetDefault("health.load_per_cpu", d.Health.LoadPerCPU)
	v.SetDefault("protected_names", d.ProtectedNames)
	v.SetDefault("compose_dirs", d.ComposeDirs)
	setFleetDefaults(v, d.Fleet)
}

// FlagKeys maps a command-line flag name to the settings key it sets.
var FlagKeys = map[string]string{
	"allowlist":        "allowlist",
	"log-dir":          "log_dir",
	"root":             "root",
	"hostname":         "hostname",
	"timeout":          "timeouts.run",
	"phase-timeout":    "timeouts.phase",
	"source-timeout":   "timeouts.source",
	"terminate":        "terminate.enabled",
	"grace":            "terminate.grace",
	"docker-host":      "docker.host",
	"pm2-bin":          "pm2.bin",
	"systemd-bus":      "systemd.bus",
	"restart-services": "services.restart",
	"protected-names":  "protected_names",
	"controller":       "fleet.controller",
	"state-dir":        "fleet.state_dir",
	"labels":           "fleet.labels",
	"allow-real":       "fleet.allow_real",
}

// Load reads settings from file (optional; "" means none), the ARCANOS_*
// environment and the flags in fs that were set. An unknown key in the file
// is an error that names it.
func Load(file string, fs *pflag.FlagSet) (Agent, error) {
	v := viper.New()
	setDefaults(v)

	v.SetEnvPrefix("ARCANOS")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()

	if file != "" {
		v.SetConfigFile(file)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return Agent{}, fmt.Errorf("read settings %s: %w", file, err)
		}
	}

	if fs != nil {
		for flag, key := range FlagKeys {
			if f := fs.Lookup(flag); f != nil {
				if err := v.BindPFlag(key, f); err != nil {
					return Agent{}, fmt.Errorf("bind flag --%s: %w", flag, err)
				}
			}
		}
	}

	if err := labelsFromText(v); err != nil {
		return Agent{}, err
	}
	var a Agent
	if err := v.UnmarshalExact(&a); err != nil {
		return Agent{}, fmt.Errorf("settings %s: %w (see docs/settings.md for the keys)", nameOr(file), err)
	}
	return a, a.Validate()
}

func nameOr(file string) string {
	if file == "" {
		return "(environment and flags)"
	}
	return file
}

// Validate checks values that decode but make no sense.
func (a Agent) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	durations := []struct {
		key     string
		d       time.Duration
		zeroOK  bool
		example string
	}{
		{"timeouts.run", a.Timeouts.Run, false, "60s"},
		{"timeouts.phase", a.Timeouts.Phase, false, "30s"},
		{"timeouts.source", a.Timeouts.Source, false, "15s"},
		{"terminate.grace", a.Terminate.Grace, true, "10s"},
		{"caches.docker_min_age", a.Caches.DockerAge, true, "24h"},
	}
	for _, d := range durations {
		switch {
		case d.d < 0 || (d.d == 0 && !d.zeroOK):
			add("%s must be positive, like %s", d.key, d.example)
		case d.d > 0 && d.d < time.Millisecond:
			// A bare number decodes as nanoseconds: "grace: 10" is 10ns.
			add("%s is %s: write the unit, like %s", d.key, d.d, d.example)
		}
	}

	if a.Root == "" || !strings.HasPrefix(a.Root, "/") {
		add("root %q must be an absolute path", a.Root)
	}
	if a.LogDir == "" {
		add("log_dir must not be empty")
	}
	for key, dirs := range map[string][]string{"caches.pid_dirs": a.Caches.PidDirs, "compose_dirs": a.ComposeDirs} {
		for _, d := range dirs {
			if !strings.HasPrefix(d, "/") {
				add("%s: %q must be an absolute path", key, d)
			}
		}
	}
	for _, g := range a.ProtectedNames {
		if _, err := path.Match(g, ""); err != nil || g == "" {
			add("protected_names: %q is not a valid glob", g)
		}
	}
	for key, pct := range map[string]float64{"health.disk_percent": a.Health.DiskPercent,
		"health.memory_percent": a.Health.MemoryPercent} {
		if pct < 0 || pct > 100 {
			add("%s must be between 0 and 100, not %g", key, pct)
		}
	}
	if a.Health.LoadPerCPU < 0 {
		add("health.load_per_cpu must not be negative")
	}
	if h := a.Docker.Host; h != "" && !strings.HasPrefix(h, "unix://") && !strings.HasPrefix(h, "tcp://") {
		add("docker.host %q: use unix:///path/docker.sock or tcp://host:port", h)
	}
	if b := a.Systemd.Bus; b != "" && !strings.HasPrefix(b, "unix:path=") {
		add("systemd.bus %q: use unix:path=/path/to/system_bus_socket", b)
	}
	if strings.ContainsFunc(a.Hostname, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ' ' }) {
		add("hostname %q must not contain spaces or control characters", a.Hostname)
	}
	if err := a.Fleet.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
