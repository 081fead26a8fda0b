// Command arcanos-controller is the fleet's controller: agents enroll with it
// and keep a stream open to it; operators start purges, read the run history
// and manage the central allowlist through it with arcanosctl.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/arcanos-dev/arcanos/controller/config"
	"github.com/arcanos-dev/arcanos/controller/server"
)

// Version is the controller's version; builds may set it with
// -ldflags "-X main.Version=...". Otherwise the module version Go stamps
// from git is used.
var Version = "dev"

func main() {
	root := newRoot(os.Stderr)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "arcanos-controller:", err)
		// 2 means bad usage or settings: systemd's RestartPreventExitStatus=2
		// keeps a misconfigured controller from restarting in a loop.
		if errors.As(err, new(*usageError)) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError marks errors in flags or settings.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func newRoot(stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "arcanos-controller",
		Short: "Serve the arcanos fleet: agents, runs, history and the central allowlist",
		Long: `arcanos-controller serves the agents of a fleet (enrollment and one stream
per agent) and the operators' arcanosctl. On first start it creates its CA,
a server certificate, and the certificate and arcanosctl config of the first
operator ("admin") in the data directory, and prints where that config is.

Settings come from --config (YAML), ARCANOS_CONTROLLER_* environment variables
(ARCANOS_CONTROLLER_DATA_DIR, ARCANOS_CONTROLLER_HEARTBEAT_INTERVAL, ...) and
flags, in rising order of precedence. Schedules are set in the YAML file.`,
		Example: `  arcanos-controller --data-dir /var/lib/arcanos-controller --listen 0.0.0.0:7443 \
    --server-name controller.example.net
  arcanos-controller --config /etc/arcanos/controller.yaml
  arcanos-controller --listen unix:///run/arcanos/controller.sock --data-dir ./data`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			file, _ := cmd.Flags().GetString("config")
			cfg, err := config.Load(file, cmd.Flags())
			if err != nil {
				return &usageError{err}
			}
			return serve(cfg, stderr)
		},
	}
	config.AddFlags(cmd.Flags())
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	return cmd
}

func serve(cfg config.Controller, stderr io.Writer) error {
	log := newLogger(cfg.Log, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	c, err := server.Open(ctx, cfg, version(), log)
	if err != nil {
		return err
	}
	if c.CreatedCLIConfig {
		fmt.Fprintf(stderr, "first operator's arcanosctl config written to %s\n"+
			"  use it with: export ARCANOS_CONFIG=%s\n", c.CLIConfig, c.CLIConfig)
	} else if c.CLIConfig != "" {
		log.Info("first operator's arcanosctl config", "path", c.CLIConfig)
	}

	lis, err := server.Listen(cfg.Listen)
	if err != nil {
		_ = c.Close()
		return err
	}

	served := make(chan error, 1)
	go func() { served <- c.Serve(lis) }()
	select {
	case <-ctx.Done():
		log.Info("signal received, stopping")
	case err = <-served:
	}
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	return err
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(c.Format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// version is Version, or the module version stamped by the Go toolchain.
func version() string {
	if Version != "dev" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return Version
}
