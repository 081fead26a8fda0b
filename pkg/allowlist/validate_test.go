package allowlist

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// manyProblems holds one of each kind of mistake; wantProblems lists where
// each must be reported. Lines and columns are those of this text.
const manyProblems = `{
  "authorizedProcess": ["nginx"],
  "authorizedProcesses": [
    "nginx",
    "",
    42,
    "nginx",
    "/usr/sbin/sshd",
    {"name": "node", "exe": "/usr/bin/[node"},
    {"name": "app", "sha256": "abc"},
    {"user": "www-data"},
    {"nmae": "x", "exe": "bin/x"}
  ],
  "authorizedServices": "nginx",
  "allowedDockerImages": ["postgres", "Postgres:16", "docker.io/library/postgres", "sha256:abc", ""],
  "pm2Ecosystem": "missing.config.js"
}`

var wantProblems = []struct {
	path      string
	line, col int
	contains  string
}{
	{"$.authorizedProcess", 2, 3, "did you mean authorizedProcesses?"},
	{"$.authorizedProcesses[1]", 5, 5, "empty"},
	{"$.authorizedProcesses[2]", 6, 5, "not a number"},
	{"$.authorizedProcesses[3]", 7, 5, "duplicate of authorizedProcesses[0]"},
	{"$.authorizedProcesses[4]", 8, 5, `to require a path write {"exe": "/usr/sbin/sshd"}`},
	{"$.authorizedProcesses[5].exe", 9, 29, "not a valid glob"},
	{"$.authorizedProcesses[6].sha256", 10, 31, "not 64 hex digits"},
	{"$.authorizedProcesses[7]", 11, 5, `needs "name" or "exe"`},
	{"$.authorizedProcesses[8].nmae", 12, 6, "did you mean name?"},
	{"$.authorizedProcesses[8].exe", 12, 26, "absolute path"},
	{"$.authorizedServices", 14, 25, "must be an array"},
	{"$.allowedDockerImages[1]", 15, 39, "must be lowercase"},
	{"$.allowedDockerImages[2]", 15, 54, "same image as allowedDockerImages[0]"},
	{"$.allowedDockerImages[3]", 15, 84, "not a full image ID"},
	{"$.allowedDockerImages[4]", 15, 98, "empty"},
	{"$.pm2Ecosystem", 16, 19, "does not exist"},
}

func TestParseReportsEveryProblemWithPosition(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "authorized-services.json")

	a, err := Parse([]byte(manyProblems), file)
	if a != nil {
		t.Errorf("Parse returned an allowlist despite problems")
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want *ValidationError, got %T %v", err, err)
	}
	if ve.File != file {
		t.Errorf("File = %q, want %q", ve.File, file)
	}

	if len(ve.Problems) != len(wantProblems) {
		t.Errorf("got %d problems, want %d:\n%v", len(ve.Problems), len(wantProblems), err)
	}
	for i, w := range wantProblems {
		if i >= len(ve.Problems) {
			break
		}
		p := ve.Problems[i]
		if p.Path != w.path || p.Line != w.line || p.Column != w.col ||
			!strings.Contains(p.Message, w.contains) {
			t.Errorf("problem %d = %s\n want %d:%d: %s: …%s…", i, p, w.line, w.col, w.path, w.contains)
		}
	}

	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(ve.Problems) {
		t.Errorf("Error() has %d lines, want one per problem (%d)", len(lines), len(ve.Problems))
	}
	if want := file + ":2:3: $.authorizedProcess: unknown key"; !strings.HasPrefix(lines[0], want) {
		t.Errorf("first line = %q, want prefix %q", lines[0], want)
	}
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name      string
		doc       string
		path      string
		line, col int
		contains  string
	}{
		{"syntax error points at the bad byte", "{\n  \"authorizedServices\": [\"a\",, \"b\"]\n}",
			"$", 2, 30, "invalid character ','"},
		{"truncated file", "{\"authorizedServices\": [\"a\"", "$", 1, 28, "ends before"},
		{"trailing data", "{}\n{}", "$", 2, 1, "exactly one JSON object"},
		{"top level not an object", "[\"nginx\"]", "$", 1, 1, "must be a JSON object"},
		{"duplicate top-level key", "{\"authorizedServices\": [],\n \"authorizedServices\": []}",
			"$.authorizedServices", 2, 2, "appears twice (first on line 1)"},
		{"duplicate key in process entry", `{"authorizedProcesses": [{"name": "a", "name": "b"}]}`,
			"$.authorizedProcesses[0].name", 1, 40, "appears twice"},
		{"null inside a list", `{"authorizedServices": [null]}`,
			"$.authorizedServices[0]", 1, 25, "must be a string, not null"},
		{"service glob", `{"authorizedServices": ["nginx*"]}`,
			"$.authorizedServices[0]", 1, 25, "globs are not supported"},
		{"service with a space", `{"authorizedServices": ["my app"]}`,
			"$.authorizedServices[0]", 1, 25, "not a systemd unit name"},
		{"duplicate service", `{"authorizedServices": ["a", "a"]}`,
			"$.authorizedServices[1]", 1, 30, "duplicate of authorizedServices[0]"},
		{"padded name", `{"authorizedProcesses": [" nginx"]}`,
			"$.authorizedProcesses[0]", 1, 26, "leading or trailing spaces"},
		{"unclean exe", `{"authorizedProcesses": [{"exe": "/usr//bin/x"}]}`,
			"$.authorizedProcesses[0].exe", 1, 34, `write "/usr/bin/x"`},
		{"user with colon", `{"authorizedProcesses": [{"name": "a", "user": "a:b"}]}`,
			"$.authorizedProcesses[0].user", 1, 48, "not a user name"},
		{"ecosystem not a string", `{"pm2Ecosystem": 3}`, "$.pm2Ecosystem", 1, 18, "must be a string"},
		{"columns count characters", "{\"authorizedProcesses\": [\"é\", 1]}",
			"$.authorizedProcesses[1]", 1, 31, "not a number"},
		{"byte order mark is skipped", "\xef\xbb\xbf{\"x\": 1}", "$.x", 1, 3, "unknown key"},
		{"deep nesting", "{\"x\":" + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "}",
			"$", 1, 70, "nesting deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc), "a.json")
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) != 1 {
				t.Fatalf("want one problem, got %v", err)
			}
			p := ve.Problems[0]
			if p.Path != tt.path || p.Line != tt.line || p.Column != tt.col ||
				!strings.Contains(p.Message, tt.contains) {
				t.Errorf("got %s\nwant %d:%d: %s: …%s…", p, tt.line, tt.col, tt.path, tt.contains)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "nope.json")
	_, err := Load(file)
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 {
		t.Fatalf("want one problem, got %v", err)
	}
	if p := ve.Problems[0]; p.Path != "$" || p.Line != 0 || !strings.Contains(p.Message, "does not exist") {
		t.Errorf("problem = %+v", p)
	}
	if !strings.HasPrefix(err.Error(), file+": $: allowlist file does not exist") {
		t.Errorf("Error() = %q", err)
	}
}

func TestLoadOperatorsFormatUnchanged(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app", "ecosystem.config.js"),
		`module.exports = {apps: [{name: "api", script: "server.js"}]}`)
	doc := `{
  "authorizedProcesses": ["nginx", "node", "python3"],
  "authorizedServices": ["nginx", "postgresql.service"],
  "pm2Ecosystem": "app/ecosystem.config.js",
  "allowedDockerImages": ["postgres", "redis:7", "ghcr.io/acme/api"]
}`
	file := filepath.Join(dir, "authorized-services.json")
	writeFile(t, file, doc)

	a, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Processes) != 3 || a.Processes[2] != (ProcessRule{Name: "python3"}) {
		t.Errorf("Processes = %+v", a.Processes)
	}
	if strings.Join(a.Services, ",") != "nginx,postgresql.service" {
		t.Errorf("Services = %v", a.Services)
	}
	if want := filepath.Join(dir, "app", "ecosystem.config.js"); a.PM2Ecosystem != want {
		t.Errorf("PM2Ecosystem = %q, want %q", a.PM2Ecosystem, want)
	}
	if strings.Join(a.PM2Apps, ",") != "api" {
		t.Errorf("PM2Apps = %v", a.PM2Apps)
	}
	if strings.Join(a.Images, ",") != "postgres,redis:7,ghcr.io/acme/api" {
		t.Errorf("Images = %v", a.Images)
	}
	// sha256 of the exact bytes, as `sha256sum` prints it.
	if a.Digest != sha256Hex(doc) || a.Path != file {
		t.Errorf("Digest = %q Path = %q", a.Digest, a.Path)
	}
}

func TestParseNullAndEmpty(t *testing.T) {
	for _, doc := range []string{`{}`, `{"authorizedProcesses": null, "pm2Ecosystem": null}`} {
		a, err := Parse([]byte(doc), "")
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		if ok, _ := a.MatchProcess(ProcessFacts{Comm: "nginx"}); ok {
			t.Errorf("%s authorized a process", doc)
		}
	}
}

// TestShippedConfigs loads the files in config/ so they cannot rot.
func TestShippedConfigs(t *testing.T) {
	for _, f := range []string{"authorized-services.json", "authorized-services.json.example"} {
		if _, err := Load(filepath.Join("..", "..", "config", f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	a, err := Load(filepath.Join("..", "..", "config", "authorized-services.json.example"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(a.PM2Apps, ","); got != "api,queue-worker" {
		t.Errorf("example PM2Apps = %q", got)
	}
	if ok, why := a.MatchProcess(ProcessFacts{Comm: "nginx", Exe: "/tmp/nginx"}); ok {
		t.Errorf("example authorizes /tmp/nginx: %s", why)
	}
}

func writeFile(t *testing.T, file, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// validate-config -o json prints problems with these lower-case keys.
func TestProblemJSONKeys(t *testing.T) {
	b, err := json.Marshal(Problem{Path: "$.authorizedProcesses[0]", Line: 2, Column: 5, Message: "bad"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"path":"$.authorizedProcesses[0]","line":2,"column":5,"message":"bad"}`
	if string(b) != want {
		t.Errorf("json = %s\nwant   %s", b, want)
	}
}
