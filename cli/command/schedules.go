package command

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func (a *app) newSchedulesCmd() *cobra.Command {
	list := &cobra.Command{
		Use:   "list",
		Short: "List the scheduled audits from the controller's config, with their next run",
		Example: `  arcanosctl schedules list
  arcanosctl schedules list -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
			resp, err := c.ListSchedules(ctx, &arcanosv1.ListSchedulesRequest{})
			if err != nil {
				return c.fail("list schedules", err)
			}

			if output == outJSON {
				return writeJSON(a.stdout, resp)
			}
			if len(resp.GetSchedules()) == 0 {
				fmt.Fprintln(a.stdout, "no schedules: add them under 'schedules:' in the controller's config")
				return nil
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "NAME\tCRON\tSELECTOR\tMODE\tSPREAD\tNEXT RUN")
			for _, s := range resp.GetSchedules() {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", clean(s.GetName()), clean(s.GetCron()),
					selectorText(s.GetSelector()), modeText(s.GetDryRun()),
					time.Duration(s.GetSpreadSeconds())*time.Second, timeText(s.GetNextRun()))
			}
			return tw.Flush()
		},
	}
	return group("schedules", "Scheduled audits (from the controller's config)", list)
}
