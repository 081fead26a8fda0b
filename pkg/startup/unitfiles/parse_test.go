package unitfiles

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseUnitSyntax(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     []directive
		problems []string
	}{
		{
			name: "backslash continuation joins lines and skips comments inside",
			in:   "[Service]\nExecStart=/bin/web \\\n  --port 80 \\\n# a comment\n; another\n  --v\nUser=www\n",
			want: []directive{
				{"Service", "ExecStart", "/bin/web  --port 80  --v", 2},
				{"Service", "User", "www", 7},
			},
		},
		{
			name: "comments and blank lines are skipped, spaces trimmed",
			in:   "# c\n; c\n\n[Unit]\n  Description = a b  \n",
			want: []directive{{"Unit", "Description", "a b", 5}},
		},
		{
			name: "escaped backslash at the end does not continue",
			in:   "[Service]\nExecStart=/bin/a \\\\\nUser=x\n",
			want: []directive{
				{"Service", "ExecStart", `/bin/a \\`, 2},
				{"Service", "User", "x", 3},
			},
		},
		{
			name: "empty assignment is kept (it resets lists)",
			in:   "[Service]\nExecStart=\n",
			want: []directive{{"Service", "ExecStart", "", 2}},
		},
		{
			name:     "problems are reported, not fatal",
			in:       "Key=outside\n[Service\n[Service]\ngarbage\nUser=ok\n",
			want:     []directive{{"Service", "User", "ok", 5}},
			problems: []string{"line 1: assignment outside a section", "line 2: invalid section header", "line 4: missing '='"},
		},
		{
			name: "file ending inside a continuation keeps what it has",
			in:   "[Service]\nExecStart=/bin/a \\",
			want: []directive{{"Service", "ExecStart", "/bin/a", 2}},
		},
		{
			name: "CRLF line ends",
			in:   "[Service]\r\nUser=x\r\n",
			want: []directive{{"Service", "User", "x", 2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problems := parseUnit(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("directives = %#v\nwant %#v", got, tt.want)
			}
			if len(problems) != len(tt.problems) {
				t.Fatalf("problems = %q, want %q", problems, tt.problems)
			}
			for i, p := range tt.problems {
				if !strings.HasPrefix(problems[i], p) {
					t.Errorf("problem %d = %q, want prefix %q", i, problems[i], p)
				}
			}
		})
	}
}

func TestSplitExec(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{"plain", "/usr/bin/web --port 80", []string{"/usr/bin/web --port 80"}, false},
		{"double quotes group a word", `/bin/echo "hello world" x`, []string{"/bin/echo 'hello world' x"}, false},
		{"single quotes group a word", `/bin/echo 'a "b"'`, []string{`/bin/echo 'a "b"'`}, false},
		{"quotes inside a word", `/bin/x --name="a b"`, []string{"/bin/x '--name=a b'"}, false},
		{"prefixes are dropped", "-+/bin/x a", []string{"/bin/x a"}, false},
		{"@ drops argv0", "@/usr/sbin/d d-name --f", []string{"/usr/sbin/d --f"}, false},
		{"escapes are decoded", `/bin/printf a\tb \x41`, []string{"/bin/printf 'a\tb' A"}, false},
		{"lone semicolon separates commands", "/bin/a 1 ; /bin/b 2", []string{"/bin/a 1", "/bin/b 2"}, false},
		{"escaped semicolon is a word", `/bin/find . -exec rm {} \;`, []string{"/bin/find . -exec rm {} ';'"}, false},
		{"variables kept as written", "/bin/d $OPTS ${MORE}", []string{"/bin/d $OPTS ${MORE}"}, false},
		{"unbalanced quote", `/bin/a "open`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := splitExec(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("splitExec(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitExec(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
