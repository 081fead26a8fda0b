package command

import (
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/arcanos-dev/arcanos/agent/daemon"
	"github.com/arcanos-dev/arcanos/agent/metrics"
	"github.com/arcanos-dev/arcanos/pkg/purge"
	"github.com/arcanos-dev/arcanos/pkg/settings"
)

func newRunCmd(stderr io.Writer) *cobra.Command {
	var (
		configFile    string
		logLevel      string
		logFormat     string
		metricsListen string
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Serve the controller: run the purges it asks for",
		Long: `Connect to the controller this host enrolled with (see 'arcanos-agent enroll')
and serve it until stopped: say hello, send heartbeats, run the purges it asks
for one at a time, and report each phase as it ends, then the whole result.
Every report is kept in the state directory until the controller confirms it
stored it, and sent again after a reconnect or a restart of the agent.

Real (non-dry) purges are refused unless this host's settings allow them
(fleet.allow_real or --allow-real); the refusal reaches the operator. Within a
real purge, termination still needs terminate.enabled.

The agent stops cleanly on SIGTERM or Ctrl-C: a purge in progress is
cancelled and its partial result kept for the controller.

Exit codes: 0 stopped cleanly; 2 bad usage, settings or enrollment.`,
		Example: `  arcanos-agent run --config /etc/arcanos/agent.yaml

  # Allow real purges from the controller on this host
  arcanos-agent run --allow-real --terminate --log-dir /var/log/arcanos`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(stderr, logLevel, logFormat)
			if err != nil {
				return &exitError{purge.ExitUsage, err}
			}
			st, err := settings.Load(configFile, cmd.Flags())
			if err != nil {
				return &exitError{purge.ExitUsage, err}
			}
			var m *metrics.Metrics
			cfg := daemon.Config{Settings: st, Logger: log}
			if metricsListen != "" {
				m = metrics.New(purge.Version)
				cfg.Observer = m
			}
			d, err := daemon.New(cfg)
			if err != nil {
				return &exitError{purge.ExitUsage, err}
			}
			if m != nil {
				m.CountSpooled(d.Unacked)
				if err := m.Listen(metricsListen, log); err != nil {
					return &exitError{purge.ExitUsage, err}
				}
				defer m.Close()
			}

			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return d.Run(ctx)
		},
	}

	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "agent settings file (YAML); see docs/settings.md")
	f.String("controller", "", "controller address (default: the one enrolled with)")
	f.String("state-dir", settings.DefaultStateDir, "the enrolled state directory (fleet.state_dir)")
	f.StringToString("labels", nil, "labels to announce, k=v,k2=v2 (default: those given at enrollment); "+
		"the controller keeps the enrolled ones: re-enroll to change them")
	f.Bool("allow-real", false, "accept real (non-dry) purges from the controller (fleet.allow_real)")
	f.String("log-dir", "logs", "directory for daemon-scan.log and daemon-clean.log")
	f.String("hostname", "", "host name to report (default: the enrolled one)")
	f.String("root", "/", "filesystem root for file audits")
	f.Duration("timeout", 60*time.Second, "whole-run timeout of each purge")
	f.Bool("terminate", false, "let real purges stop unauthorized processes, containers and PM2 apps (terminate.enabled)")
	f.Bool("restart-services", false, "let real purges restart authorized services that are down (services.restart)")
	f.String("docker-host", "", "Docker engine address (default: DOCKER_HOST or the local socket)")
	f.String("systemd-bus", "", "D-Bus address of systemd (default: the system bus)")
	f.String("pm2-bin", "", "pm2 command used to read running PM2 daemons (default: pm2 on PATH)")
	f.StringVar(&logLevel, "log-level", "info", "agent log level on stderr: debug, info, warn, error")
	f.StringVar(&logFormat, "log-format", "text", "agent log format on stderr: text or json")
	f.StringVar(&metricsListen, "metrics-listen", "", "serve Prometheus /metrics and /healthz over HTTP here, like 127.0.0.1:9465 (default: off)")
	return cmd
}
