package command

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/arcanos-dev/arcanos/pkg/fleet"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// phaseNames are the phases of the purge sequence in order, as pkg/phases.All
// names them (a test keeps the two equal; pkg/phases itself is not linked
// into arcanosctl because it carries every host-side source).
var phaseNames = []string{"detect", "terminate", "startup", "caches", "services", "health"}

// purgeFlags are the flags of `arcanosctl purge`.
type purgeFlags struct {
	hosts       string
	labels      []string
	dryRun      bool
	apply       bool
	phases      string
	batch       string
	maxFailures int
	timeout     time.Duration
}

func (a *app) newPurgeCmd() *cobra.Command {
	var f purgeFlags
	cmd := &cobra.Command{
		Use:   "purge (--hosts SELECTOR | --labels K=V) (--dry-run | --apply)",
		Short: "Run the purge sequence on the selected hosts and follow it live",
		Long: `Run the purge sequence (detect, terminate, startup, caches, services, health)
on every host the selector chooses, and follow it host by host.

Exactly one of --dry-run (change nothing, report what would be done) and
--apply (a real purge, within each host's own settings) is required. A real
purge rolls out in waves of --batch hosts and stops once more than
--max-failures hosts failed or refused.

On a terminal each host's line is redrawn as its phases complete. When the
output is not a terminal, or with -o json, every event is printed as one
protojson PurgeEvent per line on stdout, and the summary goes to stderr.
A host's phases come in its PHASE_DONE events; its FINISHED event carries
the result's status, errors and summary (and its phases only from agents
that send them twice). arcanosctl runs show RUN_ID -o json gives each
host's whole result.
The summary lists findings by verdict and actions by state per host, then
every unauthorized finding and every host that did not complete.

Ctrl-C stops watching; the run goes on (arcanosctl runs show RUN_ID).

` + exitCodesHelp,
		Example: `  # See what a purge would do on the web hosts except web-3
  arcanosctl purge --hosts 'web-*,!web-3' --dry-run

  # Audit the database hosts' startup entries only, as JSON lines
  arcanosctl purge --labels role=db --phases detect,startup --dry-run -o json

  # A real purge, two hosts at a time, stopping after the first failure
  arcanosctl purge --hosts 'web-[1-8]' --apply --batch 2 --max-failures 0

  # In CI: fail the job on unauthorized findings (3) or incomplete hosts (4)
  arcanosctl purge --hosts '*' --dry-run > events.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			output, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			req, err := f.request()
			if err != nil {
				return err
			}
			if req.DryRun && (f.batch != "" || cmd.Flags().Changed("max-failures")) {
				fmt.Fprintln(a.stderr, "arcanosctl: note: --batch and --max-failures shape real purges; "+
					"a dry run reaches every selected host at once")
			}

			c, err := connect(cmd, a.stderr)
			if err != nil {
				return err
			}
			defer c.close()
			return a.follow(cmd.Context(), c, req, output)
		},
	}

	fl := cmd.Flags()
	fl.StringVar(&f.hosts, "hosts", "", "host names and globs, comma-separated; !NAME excludes (web-*,db-1,!web-3; '*' = all)")
	fl.StringSliceVar(&f.labels, "labels", nil, "labels every selected host carries, k=v (comma-separated or repeated)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "change nothing on any host; report what would be done")
	fl.BoolVar(&f.apply, "apply", false, "a real purge: hosts act within their own settings (agents may refuse)")
	fl.StringVar(&f.phases, "phases", "", "comma-separated phases to run (default all): "+strings.Join(phaseNames, ","))
	fl.StringVar(&f.batch, "batch", "", "real purges: hosts per wave, N or N% (default all at once)")
	fl.IntVar(&f.maxFailures, "max-failures", 0, "real purges: stop the rollout once more hosts than this failed or refused")
	fl.DurationVar(&f.timeout, "timeout", 0, "time limit of each host's run, like 2m (default: the controller's)")

	_ = cmd.RegisterFlagCompletionFunc("phases", func(_ *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		return phaseNames, cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("hosts", a.completeHosts)
	return cmd
}

// request checks the flags and builds the request; every problem is a usage
// error, found before anything is sent.
func (f purgeFlags) request() (*arcanosv1.StartPurgeRequest, error) {
	if f.dryRun == f.apply {
		return nil, usageErr("give exactly one of --dry-run (change nothing) and --apply (a real purge)")
	}

	labels, err := parseLabels(f.labels)
	if err != nil {
		return nil, err
	}
	sel := &arcanosv1.Selector{Hosts: strings.TrimSpace(f.hosts), Labels: labels}
	if _, err := fleet.ParseSelector(sel); err != nil {
		return nil, usageErr("%v", err)
	}

	phases, err := parsePhases(f.phases)
	if err != nil {
		return nil, err
	}
	if _, err := fleet.ParseBatch(f.batch); err != nil {
		return nil, usageErr("--batch: %v", err)
	}
	if f.maxFailures < 0 || f.maxFailures > math.MaxInt32 {
		return nil, usageErr("--max-failures %d: use 0 (stop at the first failure) or more", f.maxFailures)
	}
	secs, err := timeoutSeconds(f.timeout)
	if err != nil {
		return nil, err
	}

	return &arcanosv1.StartPurgeRequest{
		Selector:       sel,
		DryRun:         f.dryRun,
		Phases:         phases,
		Batch:          strings.TrimSpace(f.batch),
		MaxFailures:    int32(f.maxFailures),
		TimeoutSeconds: secs,
	}, nil
}

// parseLabels turns k=v entries into a map.
func parseLabels(entries []string) (map[string]string, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		k, v, ok := strings.Cut(e, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, usageErr("--labels %q: write labels as key=value, like role=web", e)
		}
		if old, dup := out[k]; dup && old != v {
			return nil, usageErr("--labels: %s is given twice (%s and %s); a host carries one value per label", k, old, v)
		}
		out[k] = v
	}
	return out, nil
}

// parsePhases checks a comma-separated phase list; "" means all phases,
// which the request leaves empty.
func parsePhases(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		switch {
		case p == "":
			continue
		case !slices.Contains(phaseNames, p):
			return nil, usageErr("--phases: unknown phase %q; the phases are %s", p, strings.Join(phaseNames, ", "))
		case slices.Contains(out, p):
			return nil, usageErr("--phases: %s is given twice", p)
		}
		out = append(out, p)
	}
	return out, nil
}

// timeoutSeconds converts --timeout to whole seconds, 0 for the controller's
// default.
func timeoutSeconds(d time.Duration) (int32, error) {
	switch {
	case d == 0:
		return 0, nil
	case d < time.Second:
		return 0, usageErr("--timeout %s: give at least 1s, like 90s or 5m", d)
	case d.Seconds() > math.MaxInt32:
		return 0, usageErr("--timeout %s: too long", d)
	}
	return int32(math.Ceil(d.Seconds())), nil
}
