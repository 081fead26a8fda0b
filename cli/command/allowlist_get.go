package command

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func (a *app) newAllowlistGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get",
		Short: "Print the current central allowlist document",
		Long: `Print the current central allowlist document on stdout, byte for byte, so it
can be edited and set again; its version, author and date go to stderr.
With -o json: the GetAllowlistResponse (the document base64-encoded).`,
		Example: `  arcanosctl allowlist get > fleet-allowlist.json
  $EDITOR fleet-allowlist.json
  arcanosctl allowlist set fleet-allowlist.json --comment "allow node on web hosts"`,
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
			cur, err := currentAllowlist(cmd.Context(), c)
			if err != nil {
				return err
			}
			if cur == nil {
				return &exitError{ExitFailed, fmt.Errorf("the controller has no central allowlist yet; " +
					"store one with arcanosctl allowlist set FILE")}
			}

			if output == outJSON {
				return writeJSON(a.stdout, &arcanosv1.GetAllowlistResponse{Current: cur})
			}
			fmt.Fprintf(a.stderr, "# allowlist version %d, changed by %s at %s%s\n", cur.GetVersion(),
				dash(cur.GetChangedBy()), timeText(cur.GetChangedAt()), commentText(cur.GetComment()))
			if _, err := a.stdout.Write(cur.GetDocument()); err != nil {
				return &exitError{ExitFailed, fmt.Errorf("write allowlist: %w", err)}
			}
			return nil
		},
	}
}

// currentAllowlist fetches the current version, nil when none was set yet.
func currentAllowlist(parent context.Context, c *controller) (*arcanosv1.AllowlistVersion, error) {
	ctx, cancel := c.ctx(parent)
	defer cancel()
	resp, err := c.GetAllowlist(ctx, &arcanosv1.GetAllowlistRequest{})
	if status.Code(err) == codes.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, c.fail("get allowlist", err)
	}
	if resp.GetCurrent() == nil || resp.GetCurrent().GetVersion() == 0 {
		return nil, nil
	}
	return resp.GetCurrent(), nil
}

func commentText(s string) string {
	if s == "" {
		return ""
	}
	return ": " + clean(s)
}
