// Package command holds arcanos-agent's command line: purge, validate-config,
// version and shell completion.
package command

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/arcanos-dev/arcanos/pkg/purge"
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// Execute runs the command line and returns the process exit code.
func Execute(args []string) int {
	return run(args, os.Stdout, os.Stderr)
}

func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "arcanos-agent:", ee.err)
		}
		return ee.code
	}
	// Cobra's own errors are usage errors: unknown flag, bad argument.
	fmt.Fprintln(stderr, "arcanos-agent:", err)
	fmt.Fprintln(stderr, "Run 'arcanos-agent --help' for usage.")
	return purge.ExitUsage
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "arcanos-agent",
		Short: "Find, judge and clean up what runs in the background on this host",
		Long: `arcanos-agent runs the purge sequence on this host: detect daemons, terminate
unauthorized ones (only when this host's settings allow it), audit what starts
at boot, clean caches, check authorized services and confirm health. Every
finding is judged against the allowlist (config/authorized-services.json).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       purge.Version,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newPurgeCmd(stdout, stderr), newValidateCmd(stdout, stderr), newVersionCmd(stdout), newEnrollCmd(stdout), newRunCmd(stderr))
	return root
}

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the agent's version",
		Args:  cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			fmt.Fprintln(stdout, "arcanos-agent", purge.Version)
		},
	}
}

// newLogger builds the agent's slog logger on stderr.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}
