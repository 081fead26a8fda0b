package command

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/arcanos-dev/arcanos/pkg/allowlist"
	"github.com/arcanos-dev/arcanos/pkg/purge"
	"github.com/arcanos-dev/arcanos/pkg/settings"
)

func newValidateCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		configFile string
		output     string
	)
	cmd := &cobra.Command{
		Use:   "validate-config",
		Short: "Check the allowlist and the agent settings, and report every problem",
		Long: `Check the allowlist (and the settings file, when --config is given) without
running anything. Every problem is reported at once with its JSON path and
line:column. Exit code 0 when valid, 2 when not.`,
		Example: `  arcanos-agent validate-config --allowlist config/authorized-services.json
  arcanos-agent validate-config -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" && output != "text" {
				return &exitError{purge.ExitUsage, fmt.Errorf("-o %q: use text or json", output)}
			}
			st, err := settings.Load(configFile, cmd.Flags())
			if err != nil {
				return &exitError{purge.ExitUsage, err}
			}
			path := purge.FindAllowlist(st.Allowlist)
			al, err := allowlist.Load(path)

			var problems []allowlist.Problem
			var ve *allowlist.ValidationError
			if errors.As(err, &ve) {
				problems = ve.Problems
			} else if err != nil {
				problems = []allowlist.Problem{{Path: "$", Message: err.Error()}}
			}

			if output == "json" {
				out := struct {
					File     string              `json:"file"`
					Valid    bool                `json:"valid"`
					Problems []allowlist.Problem `json:"problems"`
				}{path, len(problems) == 0, problems}
				if out.Problems == nil {
					out.Problems = []allowlist.Problem{}
				}
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return &exitError{purge.ExitFailed, err}
				}
			} else if len(problems) > 0 {
				writeProblems(stderr, path, err)
			} else {
				if configFile != "" {
					fmt.Fprintf(stdout, "%s: valid settings\n", configFile)
				}
				fmt.Fprintf(stdout, "%s: valid (%d processes, %d services, %d PM2 apps, %d images)\n",
					path, len(al.Processes), len(al.Services), len(al.PM2Apps), len(al.Images))
			}
			if len(problems) > 0 {
				return &exitError{purge.ExitUsage, nil}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.String("allowlist", "", "allowlist file (default: config/authorized-services.json, then "+purge.InstalledAllowlist+")")
	f.StringVar(&configFile, "config", "", "agent settings file (YAML) to check as well")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
