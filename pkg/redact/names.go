package redact

import (
	"strings"
	"unicode"
)

// secretWords are name words that mark a value as secret wherever they
// stand in the name (DB_PASSWORD, --auth-token, keyStorePassword).
var secretWords = set("password", "passwd", "pass", "pwd", "passphrase", "passin", "passout",
	"secret", "secrets", "token", "credential", "credentials", "auth", "apikey", "accesskey",
	"secretkey", "privatekey", "authtoken", "accesstoken", "refreshtoken", "sessiontoken",
	"clientsecret")

// secretSuffixes catch words glued together without separators, as in
// PGPASSWORD or MYSQLTOKEN.
var secretSuffixes = []string{"password", "passwd", "secret", "token", "apikey", "passphrase"}

// keyQualifiers make a final "key" secret: api-key, ACCESS_KEY, privateKey.
var keyQualifiers = set("api", "access", "private", "secret", "encryption", "master",
	"signing", "license", "auth", "session")

// notSecretLast are final words that name something about a secret rather
// than the secret itself: --password-file, PASSWORD_FILE, --password-stdin,
// --auth-type, SSH_AUTH_SOCK, TOKEN_URL, AWS_ACCESS_KEY_ID.
var notSecretLast = set("file", "path", "dir", "env", "stdin", "fd", "prompt", "type", "method",
	"mode", "url", "uri", "endpoint", "host", "port", "user", "username", "name", "id", "sock",
	"socket", "length", "ttl", "timeout", "expiry", "expires", "required", "enabled",
	"disabled", "provider", "header", "command", "cmd", "helper", "policy", "format",
	"algorithm", "version", "store", "source", "database", "db", "mechanism")

// Flavours of names, which differ in whether a bare "key" is secret: as an
// option, --key is usually a path to a TLS key; as an environment name or a
// URL parameter, KEY=… and ?key=… usually carry the key itself.
type nameKind int

const (
	optionName nameKind = iota
	envName
	queryName
)

// isSecretName reports whether a name (of an option, an environment
// variable or a URL query parameter) says its value is a secret.
func isSecretName(name string, kind nameKind) bool {
	w := words(name)
	if len(w) == 0 || w[0] == "no" {
		return false // --no-password and the like are switches
	}
	last := w[len(w)-1]
	if notSecretLast[last] {
		return false
	}
	if kind == queryName && (last == "sig" || last == "signature" || last == "key") {
		return true
	}
	if last == "key" && (kind == envName || len(w) > 1 && keyQualifiers[w[len(w)-2]]) {
		return true
	}
	for _, word := range w {
		if secretWords[word] {
			return true
		}
		for _, s := range secretSuffixes {
			if strings.HasSuffix(word, s) {
				return true
			}
		}
	}
	return false
}

// words splits a name into lowercase words at non-alphanumerics and at
// camelCase boundaries: "keyStorePassword" -> key, store, password.
func words(name string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	var prev rune
	for _, r := range name {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
		prev = r
	}
	flush()
	return out
}

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
