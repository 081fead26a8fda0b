package redact

import "strings"

// Tools whose short flags carry secrets. Elsewhere "-p 3306" is a port and
// "-a" a switch, so these rules apply only after the tool's name.
var (
	mysqlTools = set("mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlcheck",
		"mysqlshow", "mysqlpump", "mysqlbinlog", "mariadb", "mariadb-dump", "mariadb-admin",
		"mariadb-import", "mariadb-check", "mariadb-show")
	otherTools = set("sshpass", "redis-cli", "curl")
)

// toolName returns the base name of arg when it names a tool with secret
// short flags, and "" otherwise.
func toolName(arg string) string {
	if arg == "" || arg[0] == '-' {
		return ""
	}
	b := base(arg)
	if mysqlTools[b] || otherTools[b] {
		return b
	}
	return ""
}

// toolFlag applies the short-flag rules of tool to arg. ok is false when no
// rule applies.
func toolFlag(tool, arg string) (next valueMask, masked string, ok bool) {
	switch {
	case mysqlTools[tool]:
		// -pSECRET carries the password; -p alone means "prompt", and the
		// next argument is then the database name, not a password.
		if strings.HasPrefix(arg, "-p") && len(arg) > 2 {
			return nil, "-p" + mask, true
		}
	case tool == "sshpass":
		if arg == "-p" {
			return maskAll, arg, true
		}
		if strings.HasPrefix(arg, "-p") {
			return nil, "-p" + mask, true
		}
	case tool == "redis-cli":
		if arg == "-a" {
			return maskAll, arg, true
		}
	case tool == "curl":
		// -u user:password and --user user:password
		if arg == "-u" || arg == "--user" {
			return maskAfterColon, arg, true
		}
		if v, ok := strings.CutPrefix(arg, "-u"); ok && v != "" && !strings.HasPrefix(arg, "--") {
			return nil, "-u" + maskAfterColon(v), true
		}
		if v, ok := strings.CutPrefix(arg, "--user="); ok {
			return nil, "--user=" + maskAfterColon(v), true
		}
	}
	return nil, "", false
}

// promptsWithoutValue reports whether a secret option given without "=value"
// makes the tool prompt instead of taking the next argument: mysql's
// --password (and its prefixes --pass, --passw…) reads a value only after '='.
func promptsWithoutValue(tool, name string) bool {
	if !mysqlTools[tool] {
		return false
	}
	n := strings.ToLower(name)
	return len(n) >= 4 && strings.HasPrefix("password", n)
}

// maskAfterColon masks what follows the first ':' of user:password.
func maskAfterColon(v string) string {
	if user, pass, ok := strings.Cut(v, ":"); ok && pass != "" {
		return user + ":" + mask
	}
	return v
}
