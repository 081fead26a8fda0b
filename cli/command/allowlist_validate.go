package command

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/arcanos-dev/arcanos/cli/allowdoc"
	"github.com/arcanos-dev/arcanos/pkg/allowlist"
)

func (a *app) newAllowlistValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a central allowlist file here, without the controller",
		Long: `Check FILE with the agent's own validation: the base allowlist and every
overlay, each merged with the base as a host carrying that label gets it.
Every problem is reported at once with its JSON path and line:column.
Exit code 0 when valid, 2 when not.`,
		Example: `  arcanosctl allowlist validate fleet-allowlist.json
  arcanosctl allowlist validate fleet-allowlist.json -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			output, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			path := args[0]
			f, err := readAllowlist(path)
			if err != nil {
				return err
			}

			if output == outJSON {
				out := struct {
					File     string              `json:"file"`
					Valid    bool                `json:"valid"`
					Problems []allowlist.Problem `json:"problems"`
					Warnings []allowlist.Problem `json:"warnings"`
				}{File: path, Valid: f.problems == nil, Problems: []allowlist.Problem{}, Warnings: f.warnings}
				if f.problems != nil {
					out.Problems = f.problems.Problems
				}
				if out.Warnings == nil {
					out.Warnings = []allowlist.Problem{}
				}
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return &exitError{ExitFailed, fmt.Errorf("write result: %w", err)}
				}
			} else {
				a.report(path, f, "it is not valid")
			}
			if f.problems != nil {
				return &exitError{ExitUsage, nil}
			}
			if output != outJSON {
				fmt.Fprintf(a.stdout, "%s: valid%s\n", path, overlaysText(f.data))
			}
			return nil
		},
	}
}

// overlaysText names a document's overlays for a person.
func overlaysText(data []byte) string {
	names := allowdoc.OverlayNames(data)
	if len(names) == 0 {
		return ", no overlays"
	}
	for i := range names {
		names[i] = clean(names[i])
	}
	return fmt.Sprintf(", %d overlay(s): %s", len(names), strings.Join(names, ", "))
}
