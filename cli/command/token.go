package command

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/spf13/cobra"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

func (a *app) newTokenCmd() *cobra.Command {
	var (
		ttl       time.Duration
		hostname  string
		agentAddr string
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a single-use enrollment token and print the agent's enroll command",
		Long: `Create an enrollment token: single use, valid for --ttl, optionally only for
one host name. It is shown once (the controller keeps only its hash), with
the command to run on the new host: arcanos-agent enroll with the token and
the controller CA's fingerprint, which the agent pins.`,
		Example: `  arcanosctl token create --hostname web-4
  arcanosctl token create --ttl 15m --agent-address controller.example.net:7443`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			output, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			if ttl < time.Second || ttl.Seconds() > math.MaxInt32 {
				return usageErr("--ttl %s: give a duration of at least 1s, like 15m or 24h", ttl)
			}
			c, err := connect(cmd, a.stderr)
			if err != nil {
				return err
			}
			defer c.close()
			ctx, cancel := c.ctx(cmd.Context())
			defer cancel()
			resp, err := c.CreateEnrollmentToken(ctx, &arcanosv1.CreateEnrollmentTokenRequest{
				TtlSeconds: int32(math.Ceil(ttl.Seconds())), Hostname: strings.TrimSpace(hostname),
			})
			if err != nil {
				return c.fail("create token", err)
			}

			if output == outJSON {
				return writeJSON(a.stdout, resp)
			}
			addr := agentAddr
			if addr == "" {
				addr = c.addr
			}
			enroll := []string{"arcanos-agent", "enroll", "--controller", shellQuote(addr),
				"--token", shellQuote(resp.GetToken()), "--ca-fingerprint", shellQuote(resp.GetCaFingerprint())}
			if h := strings.TrimSpace(hostname); h != "" {
				enroll = append(enroll, "--hostname", shellQuote(h))
			}
			fmt.Fprintf(a.stdout, "token:   %s\n", clean(resp.GetToken()))
			fmt.Fprintf(a.stdout, "expires: %s (single use%s)\n", timeText(resp.GetExpiresAt()), onlyFor(hostname))
			fmt.Fprintf(a.stdout, "ca:      %s\n\n", clean(resp.GetCaFingerprint()))
			fmt.Fprintf(a.stdout, "On the new host, as root:\n  %s\n", strings.Join(enroll, " "))
			if strings.HasPrefix(addr, "unix://") || strings.HasPrefix(addr, "127.") || strings.HasPrefix(addr, "localhost:") {
				fmt.Fprintf(a.stdout, "\nnote: %s is only reachable from this machine; "+
					"give the address other hosts use with --agent-address\n", clean(addr))
			}
			return nil
		},
	}
	f := create.Flags()
	f.DurationVar(&ttl, "ttl", time.Hour, "how long the token stays valid")
	f.StringVar(&hostname, "hostname", "", "the only host name the token may enroll (default: any)")
	f.StringVar(&agentAddr, "agent-address", "", "controller address to print for the agent (default: the one arcanosctl uses)")

	return group("token", "Enrollment tokens for new agents", create)
}

func onlyFor(hostname string) string {
	if strings.TrimSpace(hostname) == "" {
		return ", any host name"
	}
	return ", only for host " + clean(strings.TrimSpace(hostname))
}

// shellQuote quotes s for a POSIX shell when it holds anything beyond a
// safe set of characters.
func shellQuote(s string) string {
	safe := s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/=,@+%") == ""
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
