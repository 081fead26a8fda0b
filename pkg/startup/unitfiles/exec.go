package unitfiles

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
)

var errUnbalanced = errors.New("unbalanced quotes")

// splitExec turns one Exec*= value into the commands it runs, each written
// back as a single line an operator can read: words unquoted and unescaped
// as systemd does (systemd.service(5) "Command lines"), then re-quoted for a
// POSIX shell where needed. The special prefixes (@ - : + ! !!) are dropped,
// and with @ the argv[0] word too. A lone ";" word separates commands.
// LIMITATION: %-specifiers and $VARIABLES are left as written, so a command
// built from Environment= shows as such.
func splitExec(value string) ([]string, error) {
	words, err := execWords(value)
	if err != nil {
		return nil, err
	}

	var cmds []string
	for len(words) > 0 {
		end := len(words)
		for i, w := range words {
			if w.separator {
				end = i
				break
			}
		}
		if cmd := formatCommand(words[:end]); cmd != "" {
			cmds = append(cmds, cmd)
		}
		if end == len(words) {
			break
		}
		words = words[end+1:]
	}
	return cmds, nil
}

func formatCommand(words []execWord) string {
	if len(words) == 0 {
		return ""
	}
	first := words[0].text
	argv0 := false
	for first != "" && strings.ContainsRune("@-:+!", rune(first[0])) {
		if first[0] == '@' {
			argv0 = true
		}
		first = first[1:]
	}

	out := []string{shellWord(first)}
	rest := words[1:]
	if argv0 && len(rest) > 0 {
		rest = rest[1:]
	}
	for _, w := range rest {
		out = append(out, shellWord(w.text))
	}
	return strings.Join(out, " ")
}

type execWord struct {
	text      string
	separator bool
}

// execWords splits value into words: whitespace separates, single and
// double quotes group (anywhere in a word), backslash escapes C-style.
func execWords(value string) ([]execWord, error) {
	var (
		words   []execWord
		cur     strings.Builder
		inWord  bool
		quote   byte
		escaped bool // the word holds an escaped character
	)
	flush := func() {
		if inWord {
			text := cur.String()
			words = append(words, execWord{text: text, separator: text == ";" && !escaped})
		}
		cur.Reset()
		inWord, escaped = false, false
	}

	for i := 0; i < len(value); i++ {
		c := value[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\''):
			quote, inWord = c, true
		case quote == 0 && (c == ' ' || c == '\t' || c == '\n'):
			flush()
		case c == '\\' && i+1 < len(value):
			s, n := unescape(value[i+1:])
			cur.WriteString(s)
			i += n
			inWord, escaped = true, true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, errUnbalanced
	}
	flush()
	return words, nil
}

// unescape reads one C escape (after the backslash) and says how many bytes
// it took. Unknown escapes keep their backslash, as systemd's relaxed mode.
func unescape(s string) (string, int) {
	simple := map[byte]string{
		'a': "\a", 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t",
		'v': "\v", 's': " ", '\\': "\\", '"': "\"", '\'': "'", ';': ";",
	}
	if r, ok := simple[s[0]]; ok {
		return r, 1
	}
	if s[0] == 'x' && len(s) >= 3 {
		if b, err := strconv.ParseUint(s[1:3], 16, 8); err == nil {
			return string([]byte{byte(b)}), 3
		}
	}
	if s[0] >= '0' && s[0] <= '7' && len(s) >= 3 {
		if b, err := strconv.ParseUint(s[:3], 8, 8); err == nil {
			return string([]byte{byte(b)}), 3
		}
	}
	return "\\" + s[:1], 1
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9@%+=:,./_${}-]+$`)

// shellWord quotes w for a POSIX shell when it needs it.
func shellWord(w string) string {
	if shellSafe.MatchString(w) {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}
