package pki

import (
	"fmt"
	"net/url"
	"strings"
)

// Identity kinds carried in a client certificate's URI SAN.
const (
	// KindHost is an agent's identity: arcanos://host/<host id>.
	KindHost = "host"
	// KindOperator is an operator's identity: arcanos://operator/<name>.
	KindOperator = "operator"

	uriScheme = "arcanos"
)

// ValidHostID reports whether id can be a host id: a lowercase host name
// (RFC 1123 labels of a-z, 0-9 and '-', joined by dots, at most 253
// characters), so that one host has exactly one spelling.
func ValidHostID(id string) error {
	if reason := hostnameProblem(id); reason != "" {
		return fmt.Errorf("host id %q is not a valid host name: %s", id, reason)
	}
	return nil
}

func hostnameProblem(id string) string {
	switch {
	case id == "":
		return "it is empty"
	case len(id) > 253:
		return "it is longer than 253 characters"
	case strings.ToLower(id) != id:
		return "use lowercase letters only"
	}
	for _, label := range strings.Split(id, ".") {
		switch {
		case label == "":
			return "it has an empty label (a leading, trailing or double dot)"
		case len(label) > 63:
			return fmt.Sprintf("label %q is longer than 63 characters", label)
		case label[0] == '-' || label[len(label)-1] == '-':
			return fmt.Sprintf("label %q starts or ends with '-'", label)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Sprintf("%q is not allowed (use a-z, 0-9, '-' and '.')", r)
			}
		}
	}
	return ""
}

// validOperatorName accepts 1 to 64 characters of letters, digits, '.', '_',
// '-' and '@', starting with a letter or digit: safe in a URI path and a file
// name.
func validOperatorName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("operator name %q must be 1 to 64 characters", name)
	}
	for i, r := range name {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if i == 0 && !alnum {
			return fmt.Errorf("operator name %q must start with a letter or digit", name)
		}
		if !alnum && r != '.' && r != '_' && r != '-' && r != '@' {
			return fmt.Errorf("operator name %q contains %q (use letters, digits, '.', '_', '-', '@')",
				name, r)
		}
	}
	return nil
}

func identityURI(kind, name string) *url.URL {
	return &url.URL{Scheme: uriScheme, Host: kind, Path: "/" + name}
}

// identityFromURI parses arcanos://<kind>/<name>; ok is false for any other
// URI or an invalid name.
func identityFromURI(u *url.URL) (Identity, bool) {
	if u.Scheme != uriScheme || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return Identity{}, false
	}
	name, found := strings.CutPrefix(u.Path, "/")
	if !found {
		return Identity{}, false
	}

	switch u.Host {
	case KindHost:
		if ValidHostID(name) != nil {
			return Identity{}, false
		}
	case KindOperator:
		if validOperatorName(name) != nil {
			return Identity{}, false
		}
	default:
		return Identity{}, false
	}
	return Identity{Kind: u.Host, Name: name}, true
}
