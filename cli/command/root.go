// Package command holds arcanosctl's command line: purges across the fleet,
// hosts, runs and their drift, the central allowlist, enrollment tokens and
// schedules, all through the controller's ControlService.
package command

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// app is what every command shares: where output goes and how to tell a
// terminal (tests replace both).
type app struct {
	stdout, stderr io.Writer
	// terminal reports whether w is a terminal, and its rows and columns.
	terminal func(w io.Writer) (ok bool, rows, cols int)
}

// Execute runs arcanosctl with args and returns the process exit code.
func Execute(args []string) int {
	a := &app{stdout: os.Stdout, stderr: os.Stderr, terminal: realTerminal}
	return a.run(args)
}

func realTerminal(w io.Writer) (bool, int, int) {
	if !isTerminal(w) {
		return false, 0, 0
	}
	rows, cols := terminalSize(w)
	return true, rows, cols
}

func (a *app) run(args []string) int {
	root := a.newRoot()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(a.stderr, "arcanosctl:", ee.err)
		}
		return ee.code
	}
	// Cobra's own errors are usage errors: unknown flag, wrong arguments.
	fmt.Fprintln(a.stderr, "arcanosctl:", err)
	fmt.Fprintln(a.stderr, "Run 'arcanosctl --help' for usage.")
	return ExitUsage
}

func (a *app) newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "arcanosctl",
		Short: "Purge, audit and compare the hosts of an arcanos fleet",
		Long: `arcanosctl talks to the arcanos controller: it starts purges on the hosts a
selector chooses and follows them live, lists hosts and past runs, shows the
drift between two runs, manages the central allowlist and creates enrollment
tokens for new agents.

It reaches the controller with the operator certificate from its config file
(--config, else $ARCANOS_CONFIG, else ~/.config/arcanos/arcanosctl.yaml, else
./arcanosctl.yaml). The controller writes that file into its data directory
on first start. Keys: controller, cert, key, ca; each can also come from a
flag (--controller) or an environment variable (ARCANOS_CONTROLLER).

` + exitCodesHelp,
		Example: `  # What would a purge do on the web hosts?
  arcanosctl purge --hosts 'web-*' --dry-run

  # What changed since the previous run over the same hosts?
  arcanosctl runs list
  arcanosctl runs diff RUN_ID

  # Enroll a new host
  arcanosctl token create --hostname web-4`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	addConfigFlags(root)
	root.PersistentFlags().StringP("output", "o", outTable, "output format: table or json (protojson)")
	_ = root.RegisterFlagCompletionFunc("output",
		cobra.FixedCompletions([]string{outTable, outJSON}, cobra.ShellCompDirectiveNoFileComp))

	root.AddCommand(
		a.newPurgeCmd(),
		a.newHostsCmd(),
		a.newRunsCmd(),
		a.newAllowlistCmd(),
		a.newTokenCmd(),
		a.newSchedulesCmd(),
	)
	return root
}

// group returns a command that only holds subcommands.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(subs...)
	return cmd
}
