package command

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/arcanos-dev/arcanos/agent/daemon"
	"github.com/arcanos-dev/arcanos/pkg/pki"
	"github.com/arcanos-dev/arcanos/pkg/purge"
	"github.com/arcanos-dev/arcanos/pkg/settings"
)

// maxTokenFile caps what --token-file reads.
const maxTokenFile = 4 << 10

func newEnrollCmd(stdout io.Writer) *cobra.Command {
	var (
		configFile string
		token      string
		tokenFile  string
		pin        string
		force      bool
	)
	cmd := &cobra.Command{
		Use:   "enroll",
		Short: "Join this host to a controller's fleet",
		Long: `Enroll this host with a controller: make a new private key, present the
single-use token an operator created, and receive this host's own client
certificate. The controller is trusted only if its CA has the fingerprint
given with --ca-fingerprint (printed by arcanosctl token create).

Written to the state directory (fleet.state_dir, default ` + settings.DefaultStateDir + `):
agent.key (0600), agent.crt, ca.crt and enrollment.json. Then start the
agent with 'arcanos-agent run'.

Exit codes: 0 enrolled; 2 bad usage or settings; 1 the enrollment failed.`,
		Example: `  arcanos-agent enroll --controller ctl.example.net:7443 \
    --token arc1.XXXX --ca-fingerprint sha256:3f1c... --labels role=web,env=prod

  # Token from a file, so it stays out of the process list
  arcanos-agent enroll --controller unix:///run/arcanos/controller.sock \
    --token-file /root/token --ca-fingerprint sha256:3f1c... --state-dir /var/lib/arcanos-agent`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := settings.Load(configFile, cmd.Flags())
			if err != nil {
				return &exitError{purge.ExitUsage, err}
			}
			secret, err := readToken(token, tokenFile)
			if err != nil {
				return &exitError{purge.ExitUsage, err}
			}
			if pin == "" {
				return &exitError{purge.ExitUsage, fmt.Errorf("--ca-fingerprint is required: arcanosctl token create prints it")}
			}
			if _, err := pki.ParseFingerprint(pin); err != nil {
				return &exitError{purge.ExitUsage, fmt.Errorf("--ca-fingerprint: %w", err)}
			}
			if st.Fleet.Controller == "" {
				return &exitError{purge.ExitUsage, fmt.Errorf("--controller is required: the controller's host:port or unix:///path.sock")}
			}

			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			enr, err := daemon.Enroll(ctx, daemon.EnrollOptions{
				Controller:    st.Fleet.Controller,
				Token:         secret,
				CAFingerprint: pin,
				Hostname:      st.Hostname,
				Labels:        st.Fleet.Labels,
				StateDir:      st.Fleet.StateDir,
				Force:         force,
			})
			if err != nil {
				return &exitError{purge.ExitFailed, err}
			}
			fmt.Fprintf(stdout, "enrolled as host %s with controller %s; credentials in %s\n",
				enr.HostID, enr.Controller, st.Fleet.StateDir)
			fmt.Fprintf(stdout, "start the agent with: systemctl enable --now arcanos-agent (packaged install)\n"+
				"                  or: arcanos-agent run --state-dir %s\n", st.Fleet.StateDir)
			return nil
		},
	}

	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "agent settings file (YAML); see docs/settings.md")
	f.String("controller", "", "controller address: host:port or unix:///path.sock (fleet.controller)")
	f.StringVar(&token, "token", "", "single-use enrollment token")
	f.StringVar(&tokenFile, "token-file", "", "read the enrollment token from this file instead")
	f.StringVar(&pin, "ca-fingerprint", "", "the controller CA's fingerprint, sha256:<hex>")
	f.String("hostname", "", "host id to enroll as (default: this host's name, lower case)")
	f.StringToString("labels", nil, "host labels, k=v,k2=v2 (fleet.labels)")
	f.String("state-dir", settings.DefaultStateDir, "where the key, certificates and spool live (fleet.state_dir)")
	f.BoolVar(&force, "force", false, "replace an existing enrollment in the state directory")
	return cmd
}

// readToken returns the token from --token or --token-file, exactly one.
func readToken(token, file string) (string, error) {
	switch {
	case token != "" && file != "":
		return "", fmt.Errorf("use --token or --token-file, not both")
	case token != "":
		return strings.TrimSpace(token), nil
	case file == "":
		return "", fmt.Errorf("--token or --token-file is required: ask an operator (arcanosctl token create)")
	}
	f, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTokenFile))
	if err != nil {
		return "", fmt.Errorf("--token-file %s: %w", file, err)
	}
	return strings.TrimSpace(string(data)), nil
}
