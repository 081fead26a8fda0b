package command

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"
)

// ConfigFileName is the name of the CLI config file the controller writes
// into its data directory on first start.
const ConfigFileName = "arcanosctl.yaml"

// settings is how arcanosctl reaches the controller, from flags, ARCANOS_*
// environment variables and the config file, in that order of precedence.
type settings struct {
	// Controller is host:port or unix:///path.sock.
	Controller string
	// Cert, Key and CA are the operator's client certificate, its key and
	// the controller's CA certificate (PEM files).
	Cert, Key, CA string
	// InsecureDev talks plaintext to a controller started with --insecure-dev.
	InsecureDev bool
	// RequestTimeout bounds each call that is not a streaming purge.
	RequestTimeout time.Duration
	// File is the config file read, "" when none.
	File string
}

// configKeys are the settings' keys in the config file, the flag names and,
// upper-cased with ARCANOS_, the environment variables.
var configKeys = []string{"controller", "cert", "key", "ca"}

// addConfigFlags declares the connection flags on the root command.
func addConfigFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.String("config", "", "config file (default: $ARCANOS_CONFIG, then ~/.config/arcanos/"+ConfigFileName+
		", then ./"+ConfigFileName+")")
	f.String("controller", "", "controller address: host:port or unix:///path.sock (env ARCANOS_CONTROLLER)")
	f.String("cert", "", "operator client certificate, PEM (env ARCANOS_CERT)")
	f.String("key", "", "key of the operator certificate, PEM, mode 0600 (env ARCANOS_KEY)")
	f.String("ca", "", "controller CA certificate, PEM (env ARCANOS_CA)")
	f.Bool("insecure-dev", false, "plaintext, no certificates: only for a controller started with --insecure-dev")
	f.Duration("request-timeout", 30*time.Second, "time limit of each call to the controller (not of a purge)")
}

// configCandidates returns the config file to read and whether the operator
// named it; a named file must exist, a default one may be absent.
func configCandidates(cmd *cobra.Command) (named string, defaults []string) {
	if f := cmd.Flag("config"); f != nil && f.Value.String() != "" {
		return f.Value.String(), nil
	}
	if env := os.Getenv("ARCANOS_CONFIG"); env != "" {
		return env, nil
	}
	if dir, err := os.UserConfigDir(); err == nil {
		defaults = append(defaults, filepath.Join(dir, "arcanos", ConfigFileName))
	}
	return "", append(defaults, "./"+ConfigFileName)
}

// howToGetConfig tells an operator without a config where one comes from.
func howToGetConfig(searched []string) string {
	return "arcanosctl needs the controller's address and an operator certificate.\n" +
		"The controller writes both into " + ConfigFileName + " in its data directory on first start\n" +
		"(arcanos-controller --data-dir DIR prints the path). Copy that file to\n" +
		"~/.config/arcanos/" + ConfigFileName + ", or pass --config FILE or set ARCANOS_CONFIG=FILE.\n" +
		"Searched: " + strings.Join(searched, ", ")
}

// loadSettings reads the connection settings. Relative certificate paths in
// the config file are taken relative to the file, so a copied data directory
// keeps working.
func loadSettings(cmd *cobra.Command) (settings, error) {
	v := viper.New()
	v.SetConfigType("yaml")

	named, defaults := configCandidates(cmd)
	file := named
	if file == "" {
		for _, d := range defaults {
			if st, err := os.Stat(d); err == nil && st.Mode().IsRegular() {
				file = d
				break
			}
		}
	}
	if file != "" {
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return settings{}, usageErr("config file %s does not exist.\n%s", file, howToGetConfig([]string{file}))
			}
			return settings{}, usageErr("read config file %s: %w", file, err)
		}
	}

	v.SetEnvPrefix("ARCANOS")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	flags := cmd.Flags()
	for _, k := range configKeys {
		_ = v.BindPFlag(k, flags.Lookup(k))
	}
	_ = v.BindPFlag("insecure_dev", flags.Lookup("insecure-dev"))
	_ = v.BindPFlag("request_timeout", flags.Lookup("request-timeout"))

	s := settings{
		Controller:     strings.TrimSpace(v.GetString("controller")),
		Cert:           fromFile(cmd, v, file, "cert"),
		Key:            fromFile(cmd, v, file, "key"),
		CA:             fromFile(cmd, v, file, "ca"),
		InsecureDev:    v.GetBool("insecure_dev"),
		RequestTimeout: v.GetDuration("request_timeout"),
		File:           file,
	}
	if s.RequestTimeout <= 0 {
		return settings{}, usageErr("--request-timeout %s: must be positive", s.RequestTimeout)
	}

	var missing []string
	for _, kv := range [][2]string{{"controller", s.Controller}, {"cert", s.Cert}, {"key", s.Key}, {"ca", s.CA}} {
		if kv[1] == "" && !(s.InsecureDev && kv[0] != "controller") {
			missing = append(missing, kv[0])
		}
	}
	switch {
	case len(missing) == 0:
		return s, nil
	case file == "":
		return settings{}, usageErr("no config file found and no %s given.\n%s",
			strings.Join(missing, ", "), howToGetConfig(defaults))
	}
	return settings{}, usageErr("config file %s does not set %s (keys: controller, cert, key, ca).\n%s",
		file, strings.Join(missing, ", "), howToGetConfig([]string{file}))
}

// fromFile returns the path setting key, made relative to the config file's
// directory when it came from that file.
func fromFile(cmd *cobra.Command, v *viper.Viper, file, key string) string {
	p := strings.TrimSpace(v.GetString(key))
	if p == "" || filepath.IsAbs(p) || file == "" || cmd.Flags().Changed(key) ||
		os.Getenv("ARCANOS_"+strings.ToUpper(key)) != "" || !v.InConfig(key) {
		return p
	}
	return filepath.Join(filepath.Dir(file), p)
}

// describe names where the settings came from, for error messages.
func (s settings) describe() string {
	if s.File == "" {
		return "flags and environment"
	}
	return fmt.Sprintf("config file %s", s.File)
}
