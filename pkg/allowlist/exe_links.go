package allowlist

import (
	"path/filepath"
	"strings"
)

// exeAlias returns the pattern an exe rule becomes once the symlinks in its
// path are resolved on this host, or "" when resolving changes nothing or
// fails (a missing path keeps only the rule as written). The kernel names a
// process's executable by its resolved path: on merged-/usr Debian a process
// started as /bin/sleep has /proc/PID/exe /usr/bin/sleep, so the rule
// /bin/sleep alone would never match it.
//
// A rule without glob characters resolves whole, its last element too
// (/usr/bin/python3 -> /usr/bin/python3.11). A glob resolves only the
// directories before its first element with a glob character (/bin/* ->
// /usr/bin/*): what a glob matches is not listed at Parse.
//
// Resolving trusts whoever controls the links on the rule's path, as the
// rule already trusts whoever controls the file at that path.
func exeAlias(rule string) string {
	elems := strings.Split(strings.TrimPrefix(rule, "/"), "/")
	var prefix []string
	for _, e := range elems {
		lit, ok := unescapeElem(e)
		if !ok {
			break
		}
		prefix = append(prefix, lit)
	}
	whole := len(prefix) == len(elems)
	if len(prefix) == 0 {
		return ""
	}

	lit := "/" + strings.Join(prefix, "/")
	resolved, err := filepath.EvalSymlinks(lit)
	if err != nil || resolved == lit {
		return ""
	}
	alias := escapeGlob(resolved)
	if !whole {
		alias += "/" + strings.Join(elems[len(prefix):], "/")
	}
	return alias
}

// unescapeElem returns one path element of a glob with its escapes removed,
// and false when it holds an unescaped glob character.
func unescapeElem(e string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(e); i++ {
		switch c := e[i]; c {
		case '*', '?', '[':
			return "", false
		case '\\':
			if i+1 < len(e) {
				i++
				b.WriteByte(e[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// escapeGlob escapes the characters of a path that path.Match would read as
// a pattern.
func escapeGlob(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if strings.IndexByte(`*?[\`, p[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(p[i])
	}
	return b.String()
}
