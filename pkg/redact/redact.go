// Package redact takes secrets out of command lines before they are shown,
// logged or sent anywhere: passwords, tokens and keys given as options,
// environment-style assignments, HTTP headers and URLs.
package redact

import (
	"path"
	"strings"
)

// mask replaces every secret value.
const mask = "***"

// Args returns a copy of argv with the values of secret-looking arguments
// replaced by "***". Option names are compared case-insensitively with '-'
// and '_' alike. It never removes or adds arguments, so positions still line
// up with the original.
//
// LIMITATION: it recognizes secrets by how they are passed (option names,
// NAME=value, URLs, a few tools' short flags); a secret passed as a plain
// positional argument, or after an option of a tool it does not know,
// stays visible.
func Args(argv []string) []string {
	out := make([]string, len(argv))
	copy(out, argv)

	tool := ""
	for i := 0; i < len(out); i++ {
		arg := out[i]
		if t := toolName(arg); t != "" {
			tool = t // the tool whose options follow (sudo mysql -p…, docker exec c mysql …)
			continue
		}

		next, masked := redactArg(tool, arg)
		out[i] = URLs(masked)
		if next != nil && i+1 < len(out) && !isOption(out[i+1]) {
			i++
			out[i] = next(out[i])
		}
	}
	return out
}

// valueMask masks the value that follows a secret option.
type valueMask func(string) string

// maskAll replaces a whole value.
func maskAll(string) string { return mask }

// redactArg masks the secrets inside one argument. next is non-nil when the
// argument is an option whose value is the next argument and secret.
func redactArg(tool, arg string) (next valueMask, masked string) {
	if next, masked, ok := toolFlag(tool, arg); ok {
		return next, masked
	}

	if strings.HasPrefix(arg, "-") && len(arg) > 1 {
		name, val, hasVal := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if strings.HasPrefix(arg, "-D") && !strings.HasPrefix(arg, "--") {
			name = name[1:] // Java system properties: -Dapp.db.password=…
		}
		if !isSecretName(name, optionName) {
			return nil, arg
		}
		if !hasVal {
			if promptsWithoutValue(tool, name) {
				return nil, arg
			}
			return maskAll, arg
		}
		if val == "" {
			return nil, arg
		}
		return nil, arg[:len(arg)-len(val)] + mask
	}

	if name, val, ok := strings.Cut(arg, "="); ok && isEnvName(name) {
		if val != "" && isSecretName(name, envName) {
			return nil, name + "=" + mask
		}
		return nil, arg
	}

	if m, ok := redactHeader(arg); ok {
		return nil, m
	}
	if v, ok := strings.CutPrefix(arg, "pass:"); ok && v != "" { // openssl -passin pass:…
		return nil, "pass:" + mask
	}
	return nil, arg
}

// isOption reports whether an argument is an option rather than a value:
// "--port", "-v", but not "-" (stdin).
func isOption(arg string) bool {
	return len(arg) > 1 && arg[0] == '-'
}

// isEnvName reports whether s is an environment variable name.
func isEnvName(s string) bool {
	if s == "" || isDigit(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlpha(s[i]) && !isDigit(s[i]) && s[i] != '_' {
			return false
		}
	}
	return true
}

// secretHeaders are HTTP headers whose values are credentials.
var secretHeaders = set("authorization", "proxy-authorization", "cookie", "set-cookie",
	"x-api-key", "x-auth-token", "x-vault-token", "private-token", "x-access-token")

// redactHeader masks the value of a credential header given as one argument,
// as with curl -H "Authorization: Bearer …", keeping the scheme word.
func redactHeader(arg string) (string, bool) {
	name, val, ok := strings.Cut(arg, ":")
	if !ok || !secretHeaders[strings.ToLower(strings.TrimSpace(name))] {
		return "", false
	}
	lead := len(val) - len(strings.TrimLeft(val, " \t"))
	v := val[lead:]
	if v == "" {
		return arg, true
	}
	if scheme, cred, ok := strings.Cut(v, " "); ok && cred != "" &&
		strings.ToLower(name) != "cookie" && isSchemeWord(scheme) {
		return name + ":" + val[:lead] + scheme + " " + mask, true
	}
	return name + ":" + val[:lead] + mask, true
}

func isSchemeWord(s string) bool {
	switch strings.ToLower(s) {
	case "bearer", "basic", "token", "digest", "negotiate", "aws4-hmac-sha256":
		return true
	}
	return false
}

// base returns the last path element of a program name.
func base(arg string) string {
	return path.Base(arg)
}
