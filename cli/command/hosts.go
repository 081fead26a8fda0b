package command

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/arcanos-dev/arcanos/pkg/fleet"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func (a *app) newHostsCmd() *cobra.Command {
	var hosts string
	var labels []string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the enrolled hosts: online or not, last seen, labels, agent version",
		Example: `  arcanosctl hosts list
  arcanosctl hosts list --hosts 'web-*' --labels env=prod
  arcanosctl hosts list -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			output, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			req := &arcanosv1.ListHostsRequest{}
			if hosts != "" || len(labels) > 0 {
				l, err := parseLabels(labels)
				if err != nil {
					return err
				}
				req.Selector = &arcanosv1.Selector{Hosts: strings.TrimSpace(hosts), Labels: l}
				if _, err := fleet.ParseSelector(req.Selector); err != nil {
					return usageErr("%v", err)
				}
			}

			c, err := connect(cmd, a.stderr)
			if err != nil {
				return err
			}
			defer c.close()
			ctx, cancel := c.ctx(cmd.Context())
			defer cancel()
			resp, err := c.ListHosts(ctx, req)
			if err != nil {
				return c.fail("list hosts", err)
			}

			if output == outJSON {
				return writeJSON(a.stdout, resp)
			}
			if len(resp.GetHosts()) == 0 {
				fmt.Fprintln(a.stdout, "no hosts enrolled yet: arcanosctl token create, then arcanos-agent enroll on the host")
				return nil
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "HOST\tSTATUS\tLAST SEEN\tLABELS\tAGENT\tOS\tREAL PURGES")
			now := time.Now()
			for _, h := range resp.GetHosts() {
				status, real := "offline", "refused"
				if h.GetOnline() {
					status = "online"
				}
				if h.GetRealPurgesAllowed() {
					real = "allowed"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", clean(hostName(h)), status,
					ago(h.GetLastSeen(), now), labelsText(h.GetLabels()), dash(h.GetAgentVersion()),
					dash(h.GetOs()), real)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&hosts, "hosts", "", "only hosts matching these names and globs (web-*,!web-3)")
	list.Flags().StringSliceVar(&labels, "labels", nil, "only hosts carrying these labels, k=v")
	_ = list.RegisterFlagCompletionFunc("hosts", a.completeHosts)

	return group("hosts", "Hosts enrolled with the controller", list)
}

// hostName is the host's id, the name bound to its certificate and the one
// selectors match; a different host name the agent reports is shown beside
// it, since it is only the agent's claim.
func hostName(h *arcanosv1.Host) string {
	id := h.GetHostId()
	if id == "" {
		return h.GetHostname()
	}
	if n := h.GetHostname(); n != "" && n != id {
		return id + " (reports " + n + ")"
	}
	return id
}
