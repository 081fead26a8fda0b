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
// allowlist.ParseWith, naming it name in every problem.
func CheckEffective(doc []byte, name string) error {
	return check(doc, name)
}

func checkBase(doc []byte) error {
	return check(doc, "allowlist")
}

// hostSide is how the controller parses: the overlays key is this
// package's, and the pm2Ecosystem file lives on each host, so the
// controller never reads a file of its own in its place.
//
// LIMITATION: the content of the pm2Ecosystem file is only checked by each
// agent, when a run starts; a bad file is reported then.
var hostSide = allowlist.ParseOptions{SkipHostFiles: true, ExtraKeys: []string{OverlaysKey}}

func check(doc []byte, name string) error {
	_, err := allowlist.ParseWith(doc, name, hostSide)
	if err == nil {
		return nil
	}
	var ve *allowlist.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("validate allowlist: %w", err)
	}
	return ve
}
