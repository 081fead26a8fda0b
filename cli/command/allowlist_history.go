package command

import (
	"fmt"

	"github.com/spf13/cobra"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func (a *app) newAllowlistHistoryCmd() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List the versions of the central allowlist, newest first, with who changed it",
		Example: `  arcanosctl allowlist history
  arcanosctl allowlist history --limit 5 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			output, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			if limit < 1 || limit > 10000 {
				return usageErr("--limit %d: use 1 to 10000", limit)
			}
			c, err := connect(cmd, a.stderr)
			if err != nil {
				return err
			}
			defer c.close()
			ctx, cancel := c.ctx(cmd.Context())
			defer cancel()
			resp, err := c.AllowlistHistory(ctx, &arcanosv1.AllowlistHistoryRequest{Limit: int32(limit)})
			if err != nil {
				return c.fail("allowlist history", err)
			}

			if output == outJSON {
				return writeJSON(a.stdout, resp)
			}
			if len(resp.GetVersions()) == 0 {
				fmt.Fprintln(a.stdout, "no allowlist stored yet: arcanosctl allowlist set FILE")
				return nil
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "VERSION\tCHANGED\tBY\tSIZE\tCOMMENT")
			for _, v := range resp.GetVersions() {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d B\t%s\n", v.GetVersion(), timeText(v.GetChangedAt()),
					dash(v.GetChangedBy()), len(v.GetDocument()), dash(v.GetComment()))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "how many versions to list")
	return cmd
}
