// Package phases runs the purge sequence on one host: detect, terminate,
// startup, caches, services and health. Each phase is its own file behind the
// Phase interface; each reads its sources through Recorder.Source, so one
// absent or hanging source never fails a run or silences the others.
package phases

import (
	"context"
	"fmt"
	"strings"
)

// Phase names, in the order the sequence runs them.
const (
	Detect    = "detect"
	Terminate = "terminate"
	Startup   = "startup"
	Caches    = "caches"
	Services  = "services"
	Health    = "health"
)

// All lists every phase name in sequence order.
var All = []string{Detect, Terminate, Startup, Caches, Services, Health}

// Phase is one step of the purge sequence. Run records into rec and must
// return promptly once ctx is done: every call that may block goes through
// rec.Source, which never outlives ctx.
type Phase interface {
	Name() string
	Run(ctx context.Context, run *Run, rec *Recorder)
}

// byName returns the phase implementation for a name.
func byName(name string) Phase {
	switch name {
	case Detect:
		return detectPhase{}
	case Terminate:
		return terminatePhase{}
	case Startup:
		return startupPhase{}
	case Caches:
		return cachesPhase{}
	case Services:
		return servicesPhase{}
	case Health:
		return healthPhase{}
	}
	return nil
}

// ParseList turns "detect,terminate" into phase names in sequence order. An
// empty list means all phases. Unknown names are an error naming the valid
// ones.
func ParseList(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return append([]string(nil), All...), nil
	}
	want := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		name := strings.TrimSpace(strings.ToLower(part))
		if name == "" {
			continue
		}
		if byName(name) == nil {
			return nil, fmt.Errorf("unknown phase %q: choose from %s", name, strings.Join(All, ","))
		}
		want[name] = true
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("no phase named: choose from %s", strings.Join(All, ","))
	}
	var out []string
	for _, name := range All {
		if want[name] {
			out = append(out, name)
		}
	}
	return out, nil
}
