package command

import (
	"fmt"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func (a *app) newAllowlistSetCmd() *cobra.Command {
	var expected int64
	var comment string
	var allowEmpty bool
	cmd := &cobra.Command{
		Use:   "set FILE",
		Short: "Validate FILE here, then make it the central allowlist",
		Long: `Validate FILE with the agent's own validation (as 'allowlist validate' does);
with any problem nothing is sent and the exit code is 2. Then store it as
the next version of the central allowlist, provided the current version is
still --expected-version (default: the version current when this command
starts). When someone else changed it in between, nothing is stored: get
it again, merge, and set again. An allowlist that authorizes nothing at all
is refused unless --allow-empty is given; so is one under which an enrolled
host would be authorized nothing (an empty base and no overlay for it).`,
		Example: `  arcanosctl allowlist set fleet-allowlist.json --comment "allow node on role=web"

  # Only if nobody changed it since version 7
  arcanosctl allowlist set fleet-allowlist.json --expected-version 7`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			output, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("expected-version") && expected < 0 {
				return usageErr("--expected-version %d: versions start at 1 (0: no allowlist yet)", expected)
			}
			path := args[0]
			f, err := readAllowlist(path)
			if err != nil {
				return err
			}
			a.report(path, f, "nothing was sent")
			if f.problems != nil {
				return &exitError{ExitUsage, nil}
			}

			c, err := connect(cmd, a.stderr)
			if err != nil {
				return err
			}
			defer c.close()
			if !cmd.Flags().Changed("expected-version") {
				cur, err := currentAllowlist(cmd.Context(), c)
				if err != nil {
					return err
				}
				expected = cur.GetVersion()
			}

			ctx, cancel := c.ctx(cmd.Context())
			defer cancel()
			resp, err := c.SetAllowlist(ctx, &arcanosv1.SetAllowlistRequest{
				Document: f.data, ExpectedVersion: expected, Comment: comment, AllowEmpty: allowEmpty,
			})
			if status.Code(err) == codes.FailedPrecondition {
				return &exitError{ExitFailed, fmt.Errorf("set allowlist: %s\nNothing was stored; "+
					"arcanosctl allowlist history shows who changed it since version %d",
					status.Convert(err).Message(), expected)}
			}
			if err != nil {
				return c.fail("set allowlist", err)
			}

			if output == outJSON {
				return writeJSON(a.stdout, resp)
			}
			cur := resp.GetCurrent()
			_, err = fmt.Fprintf(a.stdout, "allowlist version %d stored (was %d), by %s%s\n", cur.GetVersion(),
				expected, dash(cur.GetChangedBy()), commentText(cur.GetComment()))
			return err
		},
	}
	cmd.Flags().Int64Var(&expected, "expected-version", 0, "store only if this is still the current version (default: the current one)")
	cmd.Flags().StringVar(&comment, "comment", "", "why it changed, kept in the history")
	cmd.Flags().BoolVar(&allowEmpty, "allow-empty", false,
		"store an allowlist that authorizes nothing (every daemon of every host unauthorized)")
	return cmd
}
