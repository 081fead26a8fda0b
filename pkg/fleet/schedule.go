package fleet

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// Schedule is a recurring run: its cron spec, the hosts it selects, whether it
// is a dry run, and the window over which host starts are spread.
type Schedule struct {
	Name     string
	Cron     string
	Selector *arcanosv1.Selector
	DryRun   bool
	Spread   time.Duration
}

// Next returns the first time after `after` at which the schedule fires. Cron
// is a standard 5-field spec (minute hour day-of-month month day-of-week) or a
// descriptor (@hourly, @daily, @weekly, @monthly, @yearly, @every 6h), read in
// the location of `after` unless it starts with CRON_TZ=Zone.
func (s Schedule) Next(after time.Time) (time.Time, error) {
	spec, err := parseCron(s.Cron)
	if err != nil {
		return time.Time{}, fmt.Errorf("schedule %q: %w", s.Name, err)
	}

	next := spec.Next(after)
	if next.IsZero() {
		return time.Time{}, fmt.Errorf("schedule %q: cron %q never fires (no such date)", s.Name, s.Cron)
	}
	return next, nil
}

// parseCron parses a standard spec and explains the common mistakes.
func parseCron(spec string) (cron.Schedule, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, fmt.Errorf("cron spec is empty: write 5 fields such as \"0 3 * * *\" or @daily")
	}

	rest := spec
	if strings.HasPrefix(rest, "TZ=") || strings.HasPrefix(rest, "CRON_TZ=") {
		// robfig/cron slices up to the first space and panics without one.
		_, after, ok := strings.Cut(rest, " ")
		if !ok {
			return nil, fmt.Errorf("cron %q: a time zone needs a spec after it, as in CRON_TZ=UTC 0 3 * * *", spec)
		}
		rest = strings.TrimSpace(after)
	}

	if fields := strings.Fields(rest); !strings.HasPrefix(rest, "@") && len(fields) == 6 {
		return nil, fmt.Errorf("cron %q has 6 fields: seconds are not supported, "+
			"write 5 fields (minute hour day-of-month month day-of-week)", spec)
	}

	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("cron %q: %w", spec, err)
	}
	return sched, nil
}

// Offset returns how long after a schedule fires the host with this id starts:
// derived from a hash of the id, so the same host always gets the same offset
// and a fleet's starts spread evenly over [0, spread). It is 0 when spread is 0
// or less.
func Offset(hostID string, spread time.Duration) time.Duration {
	if spread <= 0 {
		return 0
	}

	sum := sha256.Sum256([]byte(hostID))
	return time.Duration(binary.BigEndian.Uint64(sum[:8]) % uint64(spread))
}
