package command

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func (a *app) newRunsShowCmd() *cobra.Command {
	var maxFindings int
	cmd := &cobra.Command{
		Use:   "show RUN_ID",
		Short: "Show one run: who started it, on which hosts, and each host's findings and actions",
		Long: `Show one run from the controller's history: who started it and when, the
selector, dry run or real, the allowlist version, and the summary table of
each host's findings and actions with every unauthorized finding, and why
each host that did not complete was refused, failed or skipped. The list of
unauthorized findings stops at --max-findings (0: all of them); -o json
always has every finding.
With -o json: the run and every host's full result (GetRunResponse).`,
		Example: `  arcanosctl runs show 01J9Z8X3K2
  arcanosctl runs show 01J9Z8X3K2 -o json | jq '.results[].summary'`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeRuns,
		RunE: func(cmd *cobra.Command, args []string) error {
			output, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			c, err := connect(cmd, a.stderr)
			if err != nil {
				return err
			}
			defer c.close()
			ctx, cancel := c.ctx(cmd.Context())
			defer cancel()
			resp, err := c.GetRun(ctx, &arcanosv1.GetRunRequest{RunId: args[0]})
			if err != nil {
				return c.fail("show run "+args[0], err)
			}

			if output == outJSON {
				return writeJSON(a.stdout, resp)
			}
			if maxFindings < 0 {
				return usageErr("--max-findings %d: want 0 (all) or more", maxFindings)
			}
			r := resp.GetRun()
			phases := "all"
			if len(r.GetPhases()) > 0 {
				phases = strings.Join(r.GetPhases(), ",")
			}
			tw := newTable(a.stdout)
			fmt.Fprintf(tw, "run\t%s\n", clean(r.GetRunId()))
			fmt.Fprintf(tw, "started\t%s by %s\n", timeText(r.GetStartedAt()), dash(r.GetStartedBy()))
			fmt.Fprintf(tw, "finished\t%s\n", timeText(r.GetFinishedAt()))
			fmt.Fprintf(tw, "mode\t%s\n", modeText(r.GetDryRun()))
			fmt.Fprintf(tw, "selector\t%s\n", selectorText(r.GetSelector()))
			fmt.Fprintf(tw, "phases\t%s\n", clean(phases))
			fmt.Fprintf(tw, "allowlist\tversion %d\n", r.GetAllowlistVersion())
			if r.GetDetail() != "" {
				fmt.Fprintf(tw, "detail\t%s\n", clean(r.GetDetail()))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout)
			outs := runOutcomes(r, resp.GetResults(), resp.GetHostDetails())
			if len(outs) == 0 {
				fmt.Fprintln(a.stdout, "no host results stored for this run")
				return nil
			}
			return writeSummary(a.stdout, r.GetRunId(), outs, nil, maxFindings)
		},
	}
	cmd.Flags().IntVar(&maxFindings, "max-findings", 200, "unauthorized findings listed at most (0: all)")
	return cmd
}

// runOutcomes joins a stored run's host states with their details and
// results, by host name, sorted by name.
func runOutcomes(r *arcanosv1.Run, results []*arcanosv1.RunResult, details map[string]string) []*hostOutcome {
	byHost := map[string]*hostOutcome{}
	for host, state := range r.GetHosts() {
		byHost[host] = &hostOutcome{host: host, state: state, detail: details[host]}
	}
	for _, res := range results {
		o := byHost[res.GetHost()]
		if o == nil {
			o = &hostOutcome{host: res.GetHost(), state: arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED}
			byHost[res.GetHost()] = o
		}
		o.result = res
	}
	outs := make([]*hostOutcome, 0, len(byHost))
	for _, h := range slices.Sorted(maps.Keys(byHost)) {
		outs = append(outs, byHost[h])
	}
	return outs
}
