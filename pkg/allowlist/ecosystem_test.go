package allowlist

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadEcosystemForms(t *testing.T) {
	tests := []struct {
		file, content string
		want          []string
	}{
		{"ecosystem.config.js", `module.exports = {
  apps: [
    {name: "api", script: "./server.js", env: {PORT: process.env.PORT || 3000}},
    {name: "worker", script: "worker.js", cwd: __dirname},
  ],
};`, []string{"api", "worker"}},
		{"array.config.js", `module.exports = [{name: "api"}, {name: "api"}, {name: "cron"}]`,
			[]string{"api", "cron"}},
		{"exports.config.js", `console.log("loading"); exports.apps = [{name: "api"}]`, []string{"api"}},
		{"helpers.config.js", `const base = {instances: 2};
function app(name) { return Object.assign({name: name, script: name + ".js"}, base); }
module.exports = {apps: ["a", "b"].map(app)};`, []string{"a", "b"}},
		{"name-from-script.config.js", `module.exports = {apps: [{script: "/srv/app/queue-runner.js"}]}`,
			[]string{"queue-runner"}},
		{"ecosystem.config.cjs", `module.exports = {apps: [{name: "cjs"}]}`, []string{"cjs"}},
		{"ecosystem.json", `{"apps": [{"name": "api", "script": "server.js"}, {"script": "bin/www"}]}`,
			[]string{"api", "www"}},
		{"list.json", `[{"name": "api"}]`, []string{"api"}},
		{"ecosystem.yaml", "apps:\n  - name: api\n    script: server.js\n  - name: worker\n", []string{"api", "worker"}},
		{"ecosystem.yml", "- name: api\n", []string{"api"}},
		{"EMPTY.JSON", `{"apps": []}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), tt.file)
			writeFile(t, file, tt.content)
			got, err := readEcosystem(file)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("apps = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadEcosystemProblems(t *testing.T) {
	tests := []struct {
		name, file, content, contains string
	}{
		{"require fs", "fs.config.js",
			`require('fs').writeFileSync(__dirname + "/marker", "x"); module.exports = {apps: []}`,
			`require("fs") is not available: the ecosystem file is read in a sandbox without modules; ` +
				`list the apps literally (at fs.config.js:1:8)`},
		{"require child_process", "cp.config.js",
			"// spawn\nconst cp = require('child_process');\ncp.execSync('touch ' + __dirname + '/marker');",
			`require("child_process") is not available`},
		{"endless loop is interrupted", "loop.config.js", "while (true) {}",
			"did not finish within 2s (an endless loop?)"},
		{"endless getter is interrupted", "getter.config.js",
			"module.exports = {get apps() { for (;;) {} }}", "did not finish within 2s"},
		{"recursion", "deep.config.js", "function f(n) { return f(n + 1) }\nf(0)", "recursed too deep"},
		{"throwing toString is contained", "throw.config.js",
			"throw {toString: function() { for (;;) {} }}", "evaluating it failed: an exception"},
		{"syntax error with position", "bad.config.js", "module.exports = {apps: [\n  {name: 'x' ]}",
			"is not valid JavaScript: SyntaxError: bad.config.js: Line 2:14 Unexpected token ]"},
		{"ES module", "esm.config.js", "export default {apps: []}", "ES module syntax (import/export) is not supported"},
		{"process.env is frozen", "env.config.js", `"use strict"; process.env.X = "1"`, "evaluating it failed: TypeError"},
		{"nothing exported", "none.config.js", "var apps = []", `has no apps array`},
		{"exports a string", "str.config.js", `module.exports = "api"`, "does not set module.exports"},
		{"app without name", "noname.config.js", `module.exports = {apps: [{cwd: "/srv"}]}`,
			`apps[0] has no "name" (and no "script" to take one from)`},
		{"name not a string", "num.json", `{"apps": [{"name": 7}]}`, "apps[0].name must be a non-empty string"},
		{"app not an object", "str.yaml", "apps: [api]", "apps[0] must be an object"},
		{"json without apps", "x.json", `{"deploy": {}}`, `has no "apps" list`},
		{"json scalar", "n.json", `3`, "holds no apps"},
		{"bad json", "bad.json", `{"apps": [}`, "is not valid JSON"},
		{"bad yaml", "bad.yaml", "apps: [\n", "is not valid YAML"},
		{"mjs", "e.config.mjs", "export default {}", "is an ES module (.mjs)"},
		{"unknown extension", "e.config.ts", "export default {}", `has extension ".ts"`},
		{"too large", "big.json", `{"apps": []}` + strings.Repeat(" ", maxEcosystemSize), "is larger than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			file := filepath.Join(dir, tt.file)
			writeFile(t, file, tt.content)

			apps, err := readEcosystem(file)
			if err == nil || !strings.Contains(err.Error(), tt.contains) {
				t.Fatalf("apps=%v err=%v\nwant error containing %q", apps, err, tt.contains)
			}
			if _, err := os.Stat(filepath.Join(dir, "marker")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the ecosystem file had an effect: marker stat = %v", err)
			}
		})
	}
}

func TestReadEcosystemMissingOrNotAFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := readEcosystem(filepath.Join(dir, "nope.js")); err == nil ||
		!strings.Contains(err.Error(), "does not exist; fix pm2Ecosystem") {
		t.Errorf("missing: %v", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "d.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := readEcosystem(filepath.Join(dir, "d.json"))
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
}

func TestEcosystemProblemInAllowlist(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "eco.config.js"), "require('fs')")
	file := filepath.Join(dir, "allow.json")
	writeFile(t, file, "{\n  \"pm2Ecosystem\": \"eco.config.js\"\n}")

	_, err := Load(file)
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 {
		t.Fatalf("want one problem, got %v", err)
	}
	p := ve.Problems[0]
	want := "ecosystem file " + filepath.Join(dir, "eco.config.js") + ": evaluating it failed"
	if p.Path != "$.pm2Ecosystem" || p.Line != 2 || p.Column != 19 || !strings.HasPrefix(p.Message, want) {
		t.Errorf("problem = %s\nwant 2:19: $.pm2Ecosystem: %s…", p, want)
	}
}

func TestMatchPM2App(t *testing.T) {
	dir := t.TempDir()
	eco := filepath.Join(dir, "ecosystem.config.js")
	writeFile(t, eco, `module.exports = {apps: [{name: "api"}, {name: "worker"}]}`)
	a := mustParse(t, `{"pm2Ecosystem": "`+eco+`"}`)

	tests := []struct {
		app    string
		ok     bool
		reason string
	}{
		{"api", true, `app "api" is in ` + eco},
		{"worker", true, `app "worker" is in ` + eco},
		{"API", false, `app "API" is not in ` + eco},
		{"miner", false, `app "miner" is not in ` + eco},
	}
	for _, tt := range tests {
		if ok, reason := a.MatchPM2App(tt.app); ok != tt.ok || reason != tt.reason {
			t.Errorf("MatchPM2App(%q) = %v, %q, want %v, %q", tt.app, ok, reason, tt.ok, tt.reason)
		}
	}
	if ok, reason := mustParse(t, `{}`).MatchPM2App("api"); ok || reason != "no pm2Ecosystem in the allowlist" {
		t.Errorf("without ecosystem: %v, %q", ok, reason)
	}
}

func TestReadEcosystemRefusesFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "eco.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := readEcosystem(fifo)
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("fifo: %v", err)
	}
}

// An app without a name at apps[0] used to hide every later problem; now
// each is its own problem at the pm2Ecosystem key, up to a cap.
func TestEcosystemReportsEveryAppProblem(t *testing.T) {
	files := map[string]string{
		"eco.config.js": `module.exports = {apps: [{cwd: "/srv"}, {name: "ok"}, {name: 7}, "x"]}`,
		"eco.json":      `{"apps": [{"cwd": "/srv"}, {"name": "ok"}, {"name": 7}, "x"]}`,
	}
	for name, content := range files {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, name), content)

			_, err := Load(writeAllowlist(t, dir, name))
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) != 3 {
				t.Fatalf("want three problems, got %v", err)
			}
			for i, want := range []string{`apps[0] has no "name"`, "apps[2].name must be a non-empty string",
				"apps[3] must be an object with a name"} {
				p := ve.Problems[i]
				if p.Path != "$.pm2Ecosystem" || p.Line != 2 || !strings.Contains(p.Message, want) {
					t.Errorf("problem %d = %s, want 2:…: $.pm2Ecosystem: …%s…", i, p, want)
				}
			}
		})
	}

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "many.json"), `{"apps": [`+strings.Repeat(`{},`, 24)+`{}]}`)
	_, err := Load(writeAllowlist(t, dir, "many.json"))
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != maxEcosystemProblems+1 {
		t.Fatalf("want %d problems, got %v", maxEcosystemProblems+1, err)
	}
	if last := ve.Problems[maxEcosystemProblems].Message; !strings.HasSuffix(last, "and 5 more problems like these") {
		t.Errorf("last problem = %q", last)
	}
}

// writeAllowlist writes dir/allow.json naming the ecosystem file eco.
func writeAllowlist(t *testing.T, dir, eco string) string {
	t.Helper()
	file := filepath.Join(dir, "allow.json")
	writeFile(t, file, "{\n  \"pm2Ecosystem\": \""+eco+"\"\n}")
	return file
}
