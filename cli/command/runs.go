package command

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func (a *app) newRunsCmd() *cobra.Command {
	return group("runs", "Past and running runs: list, show, diff",
		a.newRunsListCmd(), a.newRunsShowCmd(), a.newRunsDiffCmd())
}

func (a *app) newRunsListCmd() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the latest runs, newest first",
		Example: `  arcanosctl runs list
  arcanosctl runs list --limit 100 -o json`,
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
			resp, err := c.ListRuns(ctx, &arcanosv1.ListRunsRequest{Limit: int32(limit)})
			if err != nil {
				return c.fail("list runs", err)
			}

			if output == outJSON {
				return writeJSON(a.stdout, resp)
			}
			if len(resp.GetRuns()) == 0 {
				fmt.Fprintln(a.stdout, "no runs yet: arcanosctl purge --hosts '*' --dry-run")
				return nil
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "RUN\tSTARTED\tBY\tMODE\tSELECTOR\tHOSTS\tDETAIL")
			for _, r := range resp.GetRuns() {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", clean(r.GetRunId()), timeText(r.GetStartedAt()),
					dash(r.GetStartedBy()), modeText(r.GetDryRun()), selectorText(r.GetSelector()),
					stateCounts(r.GetHosts()), dash(r.GetDetail()))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "how many runs to list")
	return cmd
}

// stateCounts summarizes a run's host states, like "2 finished, 1 offline".
func stateCounts(hosts map[string]arcanosv1.HostRunState) string {
	if len(hosts) == 0 {
		return "-"
	}
	counts := map[arcanosv1.HostRunState]int{}
	for _, s := range hosts {
		counts[s]++
	}
	states := make([]arcanosv1.HostRunState, 0, len(counts))
	for s := range counts {
		states = append(states, s)
	}
	slices.Sort(states)
	parts := make([]string, 0, len(states))
	for _, s := range states {
		parts = append(parts, fmt.Sprintf("%d %s", counts[s], stateWord(s)))
	}
	return strings.Join(parts, ", ")
}
