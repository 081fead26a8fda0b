package command

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/arcanos-dev/arcanos/cli/allowdoc"
	"github.com/arcanos-dev/arcanos/pkg/allowlist"
)

// maxAllowlistSize caps the allowlist file read, as the agent caps its own.
const maxAllowlistSize = 4 << 20

func (a *app) newAllowlistCmd() *cobra.Command {
	cmd := group("allowlist", "The central allowlist: get, set, validate, history",
		a.newAllowlistGetCmd(), a.newAllowlistSetCmd(), a.newAllowlistValidateCmd(), a.newAllowlistHistoryCmd())
	cmd.Long = `The central allowlist is the operators' allowlist JSON (the agent's format:
authorizedProcesses, authorizedServices, pm2Ecosystem, allowedDockerImages)
plus an optional "overlays" object: entries that hosts carrying a label may
also run, like {"overlays": {"role=web": {"authorizedProcesses": ["node"]}}}.
Every version is kept with who changed it.`
	return cmd
}

// checkedFile is an allowlist file read and validated here, before anything
// is sent.
type checkedFile struct {
	data     []byte
	problems *allowlist.ValidationError
	warnings []allowlist.Problem
}

// readAllowlist reads and validates path with pkg/allowlist, so problems read
// exactly as the agent reports them.
func readAllowlist(path string) (checkedFile, error) {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() || st.Size() > maxAllowlistSize {
		// The agent's own words for a missing, odd or oversized file.
		if _, lerr := allowlist.Load(path); lerr != nil {
			var ve *allowlist.ValidationError
			if errors.As(lerr, &ve) {
				return checkedFile{problems: ve}, nil
			}
			return checkedFile{}, usageErr("read allowlist %s: %w", path, lerr)
		}
		return checkedFile{}, usageErr("read allowlist %s: not a regular file of at most %d bytes", path, maxAllowlistSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return checkedFile{}, usageErr("read allowlist %s: %w", path, err)
	}
	problems, warnings := allowdoc.Check(data, path)
	return checkedFile{data: data, problems: problems, warnings: warnings}, nil
}

// report prints the problems (as the agent does) and the warnings on stderr;
// verb says what did not happen ("nothing was sent").
func (a *app) report(path string, f checkedFile, verb string) {
	for _, w := range f.warnings {
		fmt.Fprintf(a.stderr, "arcanosctl: warning: %s: %s (the file is read on each host; "+
			"hosts without it report the problem)\n", path, w)
	}
	if f.problems == nil {
		return
	}
	fmt.Fprintf(a.stderr, "arcanosctl: the allowlist %s has %d problem(s); %s:\n", path, len(f.problems.Problems), verb)
	for line := range strings.SplitSeq(f.problems.Error(), "\n") {
		fmt.Fprintf(a.stderr, "  %s\n", line)
	}
}
