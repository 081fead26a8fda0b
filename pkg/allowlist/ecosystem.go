package allowlist

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxEcosystemSize caps the PM2 ecosystem file that is read.
const maxEcosystemSize = 1 << 20

// maxApps caps how many apps are read from one ecosystem file.
const maxApps = 10000

// maxEcosystemProblems caps the app problems reported for one ecosystem
// file; the rest are counted in one more problem.
const maxEcosystemProblems = 20

// joinProblems returns the problems found in the apps of an ecosystem file
// as one error (errors.Join; see problemsOf), or nil.
func joinProblems(errs []error) error {
	if len(errs) > maxEcosystemProblems {
		more := len(errs) - maxEcosystemProblems
		errs = append(errs[:maxEcosystemProblems], fmt.Errorf("and %d more problems like these", more))
	}
	return errors.Join(errs...)
}

// problemsOf splits an error of readEcosystem into its problems.
func problemsOf(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// readEcosystem returns the app names of a PM2 ecosystem file (.js, .cjs,
// .json, .yaml, .yml) without running it with the agent's powers: JSON and
// YAML are parsed as data, JavaScript is evaluated in a sandbox (see
// evalEcosystemJS). Errors say what to fix, without repeating the path.
func readEcosystem(file string) ([]string, error) {
	ext := strings.ToLower(filepath.Ext(file))
	switch ext {
	case ".json", ".yaml", ".yml", ".js", ".cjs":
	case ".mjs":
		return nil, errors.New("is an ES module (.mjs), which is not supported; " +
			"use a .js/.cjs file with module.exports = {apps: [...]} or a .json file")
	default:
		return nil, fmt.Errorf("has extension %q; use .js, .cjs, .json, .yaml or .yml", ext)
	}

	data, err := readCapped(file, maxEcosystemSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, errors.New("does not exist; fix pm2Ecosystem or create the file")
	case errors.Is(err, fs.ErrPermission):
		return nil, errors.New("is not readable (permission denied); let the agent read it")
	case errors.Is(err, errTooLarge):
		return nil, fmt.Errorf("is larger than %d bytes; an ecosystem file lists apps "+
			"and should be small", maxEcosystemSize)
	case err != nil:
		return nil, fmt.Errorf("cannot be read: %w", err)
	}

	var doc any
	switch ext {
	case ".json":
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("is not valid JSON: %w", err)
		}
	case ".yaml", ".yml":
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("is not valid YAML: %w", err)
		}
	default:
		return evalEcosystemJS(file, data)
	}
	return appsFromData(doc)
}

// appsFromData reads app names from a decoded JSON or YAML document: either
// {"apps": [...]} or a bare list of apps.
func appsFromData(doc any) ([]string, error) {
	list, ok := doc.([]any)
	if !ok {
		m, isMap := doc.(map[string]any)
		if !isMap {
			return nil, errors.New(`holds no apps; it must be {"apps": [{"name": ...}]} or a list of apps`)
		}
		if list, ok = m["apps"].([]any); !ok {
			return nil, errors.New(`has no "apps" list; write {"apps": [{"name": "api", ...}]}`)
		}
	}
	if len(list) > maxApps {
		return nil, fmt.Errorf("lists %d apps, more than the %d read", len(list), maxApps)
	}

	var names []string
	var errs []error
	for i, el := range list {
		app, ok := el.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Errorf("apps[%d] must be an object with a name", i))
			continue
		}
		name, err := appName(i, app["name"], app["script"])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		names = append(names, name)
	}
	if err := joinProblems(errs); err != nil {
		return nil, err
	}
	return dedupe(names), nil
}

// appName returns the name PM2 gives app i: its "name", or else its script's
// base name without extension, as PM2 does.
func appName(i int, name, script any) (string, error) {
	if name != nil {
		s, ok := name.(string)
		if !ok || strings.TrimSpace(s) == "" {
			return "", fmt.Errorf("apps[%d].name must be a non-empty string", i)
		}
		return s, nil
	}
	if s, ok := script.(string); ok && strings.TrimSpace(s) != "" {
		base := path.Base(s)
		return strings.TrimSuffix(base, path.Ext(base)), nil
	}
	return "", fmt.Errorf(`apps[%d] has no "name" (and no "script" to take one from); give it a name`, i)
}

func dedupe(names []string) []string {
	seen := map[string]bool{}
	out := names[:0]
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// MatchPM2App reports whether a PM2 app name is one of the apps of the
// allowlist's pm2Ecosystem file, and why.
func (a *Allowlist) MatchPM2App(name string) (bool, string) {
	if a == nil {
		return false, "no allowlist"
	}
	if a.PM2Ecosystem == "" {
		return false, "no pm2Ecosystem in the allowlist"
	}
	for _, n := range a.PM2Apps {
		if n == name {
			return true, fmt.Sprintf("app %q is in %s", name, a.PM2Ecosystem)
		}
	}
	return false, fmt.Sprintf("app %q is not in %s", name, a.PM2Ecosystem)
}
