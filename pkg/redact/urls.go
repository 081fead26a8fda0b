package redact

import "strings"

// URLs masks the secrets in every URL inside s: the password of the userinfo
// (postgres://user:***@host), a userinfo that is a bare token
// (https://***@github.com), and the values of query parameters whose names
// say they are secret (?token=***, &X-Amz-Signature=***). All else is kept
// byte for byte.
func URLs(s string) string {
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "://")
		if i < 0 {
			b.WriteString(rest)
			return b.String()
		}
		start := schemeStart(rest, i)
		end := i + 3 + urlLen(rest[i+3:])
		b.WriteString(rest[:start])
		if start == i { // "://" without a scheme: not a URL
			b.WriteString(rest[i : i+3])
			rest = rest[i+3:]
			continue
		}
		b.WriteString(rest[start : i+3])
		b.WriteString(redactURLBody(rest[i+3 : end]))
		rest = rest[end:]
	}
}

// schemeStart returns where the scheme ending at i begins (i when none).
func schemeStart(s string, i int) int {
	j := i
	for j > 0 && (isAlpha(s[j-1]) || isDigit(s[j-1]) || strings.IndexByte("+.-", s[j-1]) >= 0) {
		j--
	}
	for j < i && !isAlpha(s[j]) { // a scheme starts with a letter
		j++
	}
	return j
}

// urlLen is the length of the URL text at the start of s: up to whitespace
// or a quote or bracket that cannot be part of it.
func urlLen(s string) int {
	if i := strings.IndexAny(s, " \t\r\n\"'`<>"); i >= 0 {
		return i
	}
	return len(s)
}

// redactURLBody masks secrets in what follows "scheme://".
func redactURLBody(body string) string {
	hostStart := 0
	if at := userinfoEnd(body); at >= 0 {
		user, pass, hasPass := strings.Cut(body[:at], ":")
		switch {
		case hasPass && pass != "" && pass != mask:
			body = user + ":" + mask + body[at:]
			at = len(user) + 1 + len(mask)
		case !hasPass && looksLikeToken(user):
			body = mask + body[at:]
			at = len(mask)
		}
		hostStart = at + 1
	}

	q := strings.IndexByte(body[hostStart:], '?')
	if q < 0 {
		return body
	}
	q += hostStart
	query, frag := body[q+1:], ""
	if h := strings.IndexByte(query, '#'); h >= 0 {
		query, frag = query[:h], query[h:]
	}
	return body[:q+1] + redactQuery(query) + frag
}

// userinfoEnd returns the index of the '@' that ends the userinfo of a URL
// body (what follows "scheme://"), or -1 when there is none. Passwords are
// often written unescaped, so it takes the last '@' before the query rather
// than the first: "u:p@ss/w@host/db" has the password "p@ss/w".
//
// LIMITATION: a URL with a password and an '@' in its path
// ("u:p@host/@scope/pkg") has its host and path start masked too; that
// shows less, never more.
func userinfoEnd(body string) int {
	first := strings.IndexByte(body, '@')
	if first < 0 {
		return -1
	}
	limit := len(body)
	if q := strings.IndexAny(body[first:], "?#"); q >= 0 {
		limit = first + q
	}
	for _, at := range []int{strings.LastIndexByte(body[:limit], '@'), first} {
		user, _, _ := strings.Cut(body[:at], ":")
		if !strings.ContainsAny(user, "/?#") {
			return at
		}
	}
	return -1
}

// redactQuery masks the values of secret parameters in a query string.
func redactQuery(q string) string {
	params := strings.Split(q, "&")
	for i, p := range params {
		name, val, ok := strings.Cut(p, "=")
		if ok && val != "" && isSecretName(name, queryName) {
			params[i] = name + "=" + mask
		}
	}
	return strings.Join(params, "&")
}

// tokenPrefixes begin well-known access tokens that people put in a URL's
// user name (https://ghp_…@github.com).
var tokenPrefixes = []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-",
	"xoxb-", "xoxp-", "npm_"}

// looksLikeToken reports whether a URL user name is likely a token rather
// than a login: a known token prefix, or 32 or more token characters.
func looksLikeToken(user string) bool {
	for _, p := range tokenPrefixes {
		if strings.HasPrefix(user, p) {
			return true
		}
	}
	if len(user) < 32 {
		return false
	}
	for i := 0; i < len(user); i++ {
		c := user[i]
		if !isAlpha(c) && !isDigit(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
