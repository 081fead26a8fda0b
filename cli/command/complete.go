package command

import (
	"context"
	"io"
	"time"

	"github.com/spf13/cobra"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// completionTimeout bounds the controller calls shell completion makes, so a
// slow controller never stalls the operator's shell.
const completionTimeout = 2 * time.Second

// completeHosts offers the enrolled host names for --hosts.
func (a *app) completeHosts(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	var names []string
	a.withController(cmd, func(ctx context.Context, c *controller) {
		resp, err := c.ListHosts(ctx, &arcanosv1.ListHostsRequest{})
		if err != nil {
			return
		}
		for _, h := range resp.GetHosts() {
			names = append(names, hostName(h))
		}
	})
	return names, cobra.ShellCompDirectiveNoFileComp
}

// completeRuns offers recent run ids, with when and how they ran.
func (a *app) completeRuns(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	var ids []string
	if len(args) >= 2 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	a.withController(cmd, func(ctx context.Context, c *controller) {
		resp, err := c.ListRuns(ctx, &arcanosv1.ListRunsRequest{Limit: 30})
		if err != nil {
			return
		}
		for _, r := range resp.GetRuns() {
			ids = append(ids, r.GetRunId()+"\t"+timeText(r.GetStartedAt())+" "+modeText(r.GetDryRun())+
				" "+selectorText(r.GetSelector()))
		}
	})
	return ids, cobra.ShellCompDirectiveNoFileComp
}

// withController runs f against the controller when one can be reached
// quietly; completion shows nothing rather than an error.
func (a *app) withController(cmd *cobra.Command, f func(context.Context, *controller)) {
	c, err := connect(cmd, io.Discard)
	if err != nil {
		return
	}
	defer c.close()
	ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
	defer cancel()
	f(ctx, c)
}
