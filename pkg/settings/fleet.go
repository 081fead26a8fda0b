package settings

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/viper"
)

// DefaultStateDir is where an enrolled agent keeps its key, certificates and
// the reports the controller has not acknowledged yet.
const DefaultStateDir = "/var/lib/arcanos-agent"

// Fleet is what `arcanos-agent run` needs to serve a controller.
type Fleet struct {
	// Controller is the controller's address: host:port, or
	// unix:///path.sock. Empty means the address recorded at enrollment.
	Controller string `mapstructure:"controller"`
	// StateDir holds the agent's key (0600), its certificate, the
	// controller's CA certificate, the enrollment record and the spool of
	// unacknowledged reports.
	StateDir string `mapstructure:"state_dir"`
	// Labels describe the host to selectors (role=web). Empty means the
	// labels given at enrollment.
	Labels map[string]string `mapstructure:"labels"`
	// AllowReal lets a controller start real (non-dry) purges on this host.
	// Off by default: such commands are refused with the reason.
	AllowReal bool `mapstructure:"allow_real"`
	// Heartbeat is the heartbeat interval used until the controller's
	// welcome names one.
	Heartbeat time.Duration `mapstructure:"heartbeat"`
	// BackoffMin and BackoffMax bound the wait between reconnection
	// attempts, which doubles per failure and is fully jittered.
	BackoffMin time.Duration `mapstructure:"backoff_min"`
	BackoffMax time.Duration `mapstructure:"backoff_max"`
}

// DefaultFleet returns the fleet settings used when nothing else is said.
func DefaultFleet() Fleet {
	return Fleet{
		StateDir:   DefaultStateDir,
		Heartbeat:  10 * time.Second,
		BackoffMin: time.Second,
		BackoffMax: time.Minute,
	}
}

// setFleetDefaults registers the fleet keys with viper. fleet.labels has no
// default so that the environment is not consulted for it: a map is set in
// the file or with --labels.
func setFleetDefaults(v *viper.Viper, d Fleet) {
	v.SetDefault("fleet.controller", d.Controller)
	v.SetDefault("fleet.state_dir", d.StateDir)
	v.SetDefault("fleet.allow_real", d.AllowReal)
	v.SetDefault("fleet.heartbeat", d.Heartbeat)
	v.SetDefault("fleet.backoff_min", d.BackoffMin)
	v.SetDefault("fleet.backoff_max", d.BackoffMax)
}

// labelsFromText turns fleet.labels given as text (ARCANOS_FLEET_LABELS=
// "role=web,env=prod") into the map the file and --labels give, so that the
// key decodes the same from every source.
func labelsFromText(v *viper.Viper) error {
	text, ok := v.Get("fleet.labels").(string)
	if !ok {
		return nil
	}
	labels, err := ParseLabels(text)
	if err != nil {
		return fmt.Errorf("fleet.labels: %w", err)
	}
	v.Set("fleet.labels", labels)
	return nil
}

// ParseLabels parses "k=v,k2=v2" into a map; "" is no labels.
func ParseLabels(text string) (map[string]string, error) {
	labels := map[string]string{}
	for _, part := range strings.Split(text, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("label %q: write it as key=value", part)
		}
		labels[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	return labels, ValidateLabels(labels)
}

// Validate checks fleet values that decode but make no sense.
func (f Fleet) Validate() error {
	var errs []error
	if f.StateDir == "" {
		errs = append(errs, errors.New("fleet.state_dir must not be empty"))
	} else if !filepath.IsAbs(f.StateDir) {
		errs = append(errs, fmt.Errorf("fleet.state_dir %q must be an absolute path", f.StateDir))
	}
	if f.Heartbeat <= 0 {
		errs = append(errs, errors.New("fleet.heartbeat must be positive, like 10s"))
	}
	if f.BackoffMin <= 0 {
		errs = append(errs, errors.New("fleet.backoff_min must be positive, like 1s"))
	}
	if f.BackoffMax < f.BackoffMin {
		errs = append(errs, fmt.Errorf("fleet.backoff_max (%s) must not be below fleet.backoff_min (%s)",
			f.BackoffMax, f.BackoffMin))
	}
	if err := ValidateLabels(f.Labels); err != nil {
		errs = append(errs, fmt.Errorf("fleet.labels: %w", err))
	}
	return errors.Join(errs...)
}

// ValidateLabels checks host labels: keys are non-empty and hold no '=',
// ',' or space, so that "k=v,k2=v2" selectors can name them.
func ValidateLabels(labels map[string]string) error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		v := labels[k]
		if k == "" || strings.ContainsAny(k, "=, \t\n") {
			errs = append(errs, fmt.Errorf("label key %q: use letters, digits, '.', '-', '_' or '/'", k))
		}
		if strings.ContainsAny(v, ",\n") {
			errs = append(errs, fmt.Errorf("label %s value %q must not contain ',' or a newline", k, v))
		}
	}
	return errors.Join(errs...)
}
