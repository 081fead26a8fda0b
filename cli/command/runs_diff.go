package command

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func (a *app) newRunsDiffCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "diff RUN_ID [BASE_RUN_ID]",
		Short: "Show the drift: findings new or gone since the previous run over the same hosts",
		Long: `Compare the findings of a run with those of an earlier one, host by host:
"new" findings are in RUN_ID and not in the base, "gone" ones the reverse.
Findings are the same when host, phase, kind and subject are. The base is
BASE_RUN_ID, or else the previous run over the same hosts. Only phases both
runs completed are compared; the others are listed as not compared, with
why (skipped, failed, a source that timed out), rather than read as drift.`,
		Example: `  # What appeared on the fleet since last night's audit?
  arcanosctl runs diff 20261204T030000Z-5f3a9c21

  # Compare two chosen runs, as JSON
  arcanosctl runs diff 20261204T030000Z-5f3a9c21 20261203T030000Z-0b1e44d7 -o json`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: a.completeRuns,
		RunE: func(cmd *cobra.Command, args []string) error {
			output, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			req := &arcanosv1.DiffRunsRequest{RunId: args[0]}
			if len(args) == 2 {
				req.BaseRunId = args[1]
			}
			c, err := connect(cmd, a.stderr)
			if err != nil {
				return err
			}
			defer c.close()
			ctx, cancel := c.ctx(cmd.Context())
			defer cancel()
			resp, err := c.DiffRuns(ctx, req)
			if err != nil {
				return c.fail("diff run "+args[0], err)
			}

			if output == outJSON {
				return writeJSON(a.stdout, resp)
			}
			return writeDiff(a, resp)
		},
	}
}

// writeDiff prints the changes grouped by host: "+ new" and "- gone" lines.
func writeDiff(a *app, resp *arcanosv1.DiffRunsResponse) error {
	fmt.Fprintf(a.stdout, "drift of run %s against run %s\n", clean(resp.GetRunId()), dash(resp.GetBaseRunId()))
	if err := writeNotCompared(a, resp.GetNotCompared()); err != nil {
		return err
	}
	changes := slices.Clone(resp.GetChanges())
	if len(changes) == 0 {
		fmt.Fprintln(a.stdout, "no findings new or gone")
		return nil
	}
	slices.SortStableFunc(changes, func(x, y *arcanosv1.FindingChange) int {
		return cmp.Or(cmp.Compare(x.GetHost(), y.GetHost()), cmp.Compare(x.GetChange(), y.GetChange()))
	})

	tw := newTable(a.stdout)
	hosts, added, gone := 0, 0, 0
	last := "\x00"
	for _, ch := range changes {
		if ch.GetHost() != last {
			last = ch.GetHost()
			hosts++
			fmt.Fprintf(tw, "%s\n", clean(last))
		}
		mark := "?"
		switch ch.GetChange() {
		case "new":
			mark = "+"
			added++
		case "gone":
			mark = "-"
			gone++
		}
		f := ch.GetFinding()
		fmt.Fprintf(tw, "  %s %s\t%s\t%s\t%s\t%s\t%s\n", mark, clean(ch.GetChange()), clean(ch.GetPhase()),
			clean(f.GetKind()), clean(f.GetSubject()), verdictWord(f.GetVerdict()), clean(f.GetReason()))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(a.stdout, "\n%d new, %d gone on %d host(s)\n", added, gone, hosts)
	return err
}

// writeNotCompared lists the phases left out of the diff, and why.
func writeNotCompared(a *app, left []*arcanosv1.PhaseNotCompared) error {
	if len(left) == 0 {
		return nil
	}
	fmt.Fprintf(a.stdout, "not compared (%d phase(s) one run did not complete):\n", len(left))
	tw := newTable(a.stdout)
	for _, l := range left {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", clean(l.GetHost()), clean(l.GetPhase()), clean(l.GetReason()))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(a.stdout)
	return err
}
