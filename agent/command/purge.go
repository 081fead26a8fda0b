package command

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/arcanos-dev/arcanos/pkg/allowlist"
	"github.com/arcanos-dev/arcanos/pkg/phases"
	"github.com/arcanos-dev/arcanos/pkg/purge"
	"github.com/arcanos-dev/arcanos/pkg/report"
	"github.com/arcanos-dev/arcanos/pkg/settings"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func newPurgeCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		dryRun     bool
		configFile string
		phaseList  string
		output     string
		verbose    bool
		logLevel   string
		logFormat  string
	)
	cmd := &cobra.Command{
		Use:   "purge",
		Short: "Run the purge sequence on this host",
		Long: `Run the six phases on this host: detect, terminate, startup, caches, services,
health. With --dry-run nothing on the host changes: no signal is sent, no file
is written outside the log directory, no Docker object is removed, no PM2
daemon is started. Without it, processes are terminated only when this host's
settings enable it (terminate.enabled, off by default).

Exit codes: 0 every finding authorized; 3 unauthorized findings; 2 bad
configuration or usage (nothing done); 1 the run failed or timed out.`,
		Example: `  # See what would be done, without changing anything
  arcanos-agent purge --dry-run

  # Only look, as JSON, with a specific allowlist
  arcanos-agent purge --dry-run --phases detect,startup --allowlist /etc/arcanos/authorized-services.json -o json

  # In CI: any non-zero exit fails the job (3: unauthorized findings)
  arcanos-agent purge --dry-run --log-dir ./logs

  # In CI, warn only: pass on unauthorized findings (3), fail on errors (1, 2)
  arcanos-agent purge --dry-run --log-dir ./logs || [ $? -eq 3 ]`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return &exitError{purge.ExitUsage, fmt.Errorf("-o %q: use table or json", output)}
			}
			names, err := phases.ParseList(phaseList)
			if err != nil {
				return &exitError{purge.ExitUsage, err}
			}
			log, err := newLogger(stderr, logLevel, logFormat)
			if err != nil {
				return &exitError{purge.ExitUsage, err}
			}
			st, err := settings.Load(configFile, cmd.Flags())
			if err != nil {
				return &exitError{purge.ExitUsage, err}
			}
			path := purge.FindAllowlist(st.Allowlist)
			al, err := purge.LoadAllowlist(path)
			if err != nil {
				writeProblems(stderr, path, err)
				return &exitError{purge.ExitUsage, nil}
			}

			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()

			opts := purge.Options{DryRun: dryRun, Phases: names, Settings: st, Allowlist: al, Logger: log}
			if isTerminal(stderr) && output == "table" {
				opts.Progress = progressPrinter(stderr)
			}
			res, err := purge.Run(ctx, opts)
			if err != nil {
				code := purge.ExitFailed
				if errors.Is(err, purge.ErrConfig) {
					code = purge.ExitUsage
				}
				return &exitError{code, err}
			}

			if output == "json" {
				err = report.JSON(stdout, res)
			} else {
				err = report.Table(stdout, res, verbose)
				if err == nil && !opts.DryRun && !st.Terminate.Enabled {
					fmt.Fprintln(stdout, "note: termination is off in this host's settings (terminate.enabled); nothing was signalled")
				}
				if err == nil {
					fmt.Fprintf(stdout, "logs: %s/{%s,%s}\n", purge.AbsLogDir(st.LogDir), report.ScanLog, report.CleanLog)
				}
			}
			if err != nil {
				return &exitError{purge.ExitFailed, err}
			}
			if code := purge.ExitCode(res); code != 0 {
				return &exitError{code, nil}
			}
			return nil
		},
	}

	f := cmd.Flags()
	f.BoolVar(&dryRun, "dry-run", false, "change nothing on the host; report what would be done")
	f.StringVar(&configFile, "config", "", "agent settings file (YAML); see docs/settings.md")
	f.String("allowlist", "", "allowlist file (default: config/authorized-services.json, then "+purge.InstalledAllowlist+")")
	f.String("log-dir", "logs", "directory for daemon-scan.log and daemon-clean.log")
	f.StringVar(&phaseList, "phases", "", "comma-separated phases to run (default all): detect,terminate,startup,caches,services,health")
	f.StringVarP(&output, "output", "o", "table", "output format: table or json")
	f.BoolVarP(&verbose, "verbose", "v", false, "show every finding and untruncated text")
	f.String("root", "/", "filesystem root for file audits (a container's or test tree's root)")
	f.Duration("timeout", 60*time.Second, "whole-run timeout")
	f.Duration("phase-timeout", 30*time.Second, "per-phase timeout")
	f.Duration("source-timeout", 15*time.Second, "per-source timeout")
	f.String("docker-host", "", "Docker engine address (default: DOCKER_HOST or the local socket)")
	f.String("systemd-bus", "", "D-Bus address of systemd (default: the system bus)")
	f.String("hostname", "", "host name to report (default: this host's name)")
	f.Bool("terminate", false, "allow this real run to stop unauthorized processes, containers and PM2 apps (terminate.enabled)")
	f.Duration("grace", 10*time.Second, "time between SIGTERM and SIGKILL")
	f.Bool("restart-services", false, "allow this real run to restart authorized services that are down (services.restart)")
	f.String("pm2-bin", "", "pm2 command used to read running PM2 daemons (default: pm2 on PATH)")
	f.StringSlice("protected-names", nil, "globs never acted on (replaces the default list; see docs/settings.md)")
	f.StringVar(&logLevel, "log-level", "warn", "agent log level on stderr: debug, info, warn, error")
	f.StringVar(&logFormat, "log-format", "text", "agent log format on stderr: text or json")

	_ = cmd.RegisterFlagCompletionFunc("phases", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return phases.All, cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// writeProblems prints every allowlist problem, one per line, with what to
// fix.
func writeProblems(w io.Writer, path string, err error) {
	var ve *allowlist.ValidationError
	if errors.As(err, &ve) {
		fmt.Fprintf(w, "arcanos-agent: the allowlist %s has %d problem(s); nothing was done:\n", path, len(ve.Problems))
		for _, p := range ve.Problems {
			fmt.Fprintf(w, "  %s\n", problemLine(ve.File, p))
		}
		return
	}
	fmt.Fprintf(w, "arcanos-agent: %v\n", err)
}

func problemLine(file string, p allowlist.Problem) string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s: %s", file, p.Line, p.Column, p.Path, p.Message)
	}
	return fmt.Sprintf("%s: %s: %s", file, p.Path, p.Message)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressPrinter shows each phase as it starts and ends, on a terminal.
func progressPrinter(w io.Writer) func(string, *arcanosv1.PhaseResult) {
	return func(name string, res *arcanosv1.PhaseResult) {
		if res == nil {
			fmt.Fprintf(w, "\r\033[K%-10s running…", name)
			return
		}
		fmt.Fprintf(w, "\r\033[K%-10s %-11s %6s  %d findings, %d actions\n", name,
			report.StatusWord(res.Status), res.Duration.AsDuration().Round(time.Millisecond),
			len(res.Findings), len(res.Actions))
	}
}
