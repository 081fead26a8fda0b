package compose

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// file is the part of a compose file that says what comes back after a
// reboot. Environment, secrets and configs are never decoded: they may hold
// secret values.
type file struct {
	Name     string             `yaml:"name"`
	Services map[string]service `yaml:"services"`
}

type service struct {
	Image   string    `yaml:"image"`
	Build   yaml.Node `yaml:"build"`
	Restart string    `yaml:"restart"`
	Deploy  struct {
		RestartPolicy struct {
			Condition string `yaml:"condition"`
		} `yaml:"restart_policy"`
	} `yaml:"deploy"`
}

// project is what one compose file starts.
type project struct {
	name     string
	starts   []string
	restarts []string // services that come back after a reboot
	notes    []string
}

var lineRef = regexp.MustCompile(`line \d+`)

// parse reads a compose file. The error never quotes the file: yaml's type
// errors can show values, so only their line numbers are kept.
func parse(data []byte) (project, error) {
	var f file
	if err := yaml.Unmarshal(data, &f); err != nil {
		if te, ok := err.(*yaml.TypeError); ok {
			var lines []string
			for _, e := range te.Errors {
				lines = append(lines, lineRef.FindString(e))
			}
			return project{}, fmt.Errorf("unexpected value types at %s", strings.Join(lines, ", "))
		}
		return project{}, err
	}

	var p project
	p.name = f.Name
	if len(f.Services) == 0 {
		p.notes = append(p.notes, "no services")
	}
	names := make([]string, 0, len(f.Services))
	for n := range f.Services {
		names = append(names, n)
	}
	slices.Sort(names)

	for _, n := range names {
		s := f.Services[n]
		built := !s.Build.IsZero()
		switch {
		case s.Image != "":
			p.starts = append(p.starts, s.Image)
			if strings.Contains(s.Image, "$") {
				p.notes = append(p.notes, fmt.Sprintf("service %s: image %s is interpolated from the environment; not resolved", n, s.Image))
			}
			if built {
				p.notes = append(p.notes, fmt.Sprintf("service %s: built locally and tagged %s", n, s.Image))
			}
		case built:
			p.starts = append(p.starts, "build:"+n)
			p.notes = append(p.notes, fmt.Sprintf("service %s: built locally", n))
		default:
			p.notes = append(p.notes, fmt.Sprintf("service %s: neither image nor build", n))
		}

		restarts, note := restartPolicy(s)
		if note != "" {
			p.notes = append(p.notes, fmt.Sprintf("service %s: %s", n, note))
		}
		if restarts {
			p.restarts = append(p.restarts, n)
		}
	}
	return p, nil
}

// restartPolicy reports whether the Docker engine starts a service's container
// again when it starts at boot. Compose takes deploy.restart_policy when
// restart is not set.
func restartPolicy(s service) (bool, string) {
	policy := s.Restart
	if policy == "" {
		switch c := s.Deploy.RestartPolicy.Condition; c {
		case "":
		case "any":
			policy = "always"
		case "none":
			policy = "no"
		default:
			policy = c
		}
	}

	switch {
	case policy == "" || policy == "no":
		return false, ""
	case policy == "always" || policy == "unless-stopped":
		return true, ""
	case policy == "on-failure" || strings.HasPrefix(policy, "on-failure:"):
		return true, ""
	}
	return false, fmt.Sprintf("unknown restart policy %q", policy)
}
