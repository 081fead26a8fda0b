package overlay

import (
	"errors"
	"fmt"
	"strings"

	"github.com/arcanos-dev/arcanos/pkg/allowlist"
)

// Validate checks a central allowlist document with pkg/allowlist, the code
// the agents use: the base as written (so positions match the operator's
// file), the base with each overlay, and the effective document of every
// label set given (one per known host). It returns every problem found.
func Validate(doc []byte, labelSets []map[string]string) (*Document, error) {
	var errs []error
	if err := checkBase(doc); err != nil {
		errs = append(errs, err)
	}

	d, err := Parse(doc)
	if err != nil {
		return nil, errors.Join(append(errs, err)...)
	}

	checked := map[string]bool{"": true} // the base alone was checked above
	check := func(labels map[string]string, what string) {
		eff, applied, err := d.Effective(labels)
		key := strings.Join(applied, ",")
		if checked[key] {
			return
		}
		checked[key] = true
		if err != nil {
			errs = append(errs, err)
			return
		}
		if err := CheckEffective(eff, what+" ("+key+")"); err != nil {
			errs = append(errs, err)
		}
	}
	for _, label := range d.Labels() {
		k, v, _ := strings.Cut(label, "=")
		check(map[string]string{k: v}, "allowlist with overlay")
	}
	for _, labels := range labelSets {
		check(labels, "effective allowlist for a host with overlays")
	}

	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}

// CheckEffective validates one host's effective document with
// allowlist.Parse, naming it name in every problem.
func CheckEffective(doc []byte, name string) error {
	_, err := allowlist.Parse(doc, name)
	return controllerSide(err)
}

func checkBase(doc []byte) error {
	_, err := allowlist.Parse(doc, "allowlist")
	return controllerSide(err)
}

// controllerSide drops the problems that only the agent can judge: the
// overlays key (this package's) and the pm2 ecosystem file, which lives on
// the host, not on the controller.
func controllerSide(err error) error {
	if err == nil {
		return nil
	}
	var ve *allowlist.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("validate allowlist: %w", err)
	}

	kept := &allowlist.ValidationError{File: ve.File}
	for _, p := range ve.Problems {
		if p.Path == "$."+OverlaysKey && strings.HasPrefix(p.Message, "unknown key") {
			continue
		}
		// LIMITATION: the pm2Ecosystem file is read on each host, so the
		// controller cannot check its content; a bad file is reported by the
		// agent when the run starts.
		if p.Path == "$."+keyEcosystem && strings.HasPrefix(p.Message, "ecosystem file ") {
			continue
		}
		kept.Problems = append(kept.Problems, p)
	}
	if len(kept.Problems) == 0 {
		return nil
	}
	return kept
}
