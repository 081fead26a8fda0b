package compose

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcanos-dev/arcanos/pkg/startup"
)

const secret = "s3cret-compose-value"

func TestScan(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	write(t, outside, "compose.yaml", "services:\n  x:\n    image: OUTSIDE-MARKER\n")

	write(t, dir, "srv/web/compose.yaml", `name: shop
services:
  web:
    image: nginx:1.27
    restart: unless-stopped
    environment:
      DB_PASSWORD: `+secret+`
  api:
    build: ./api
  db:
    image: postgres@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    deploy:
      restart_policy:
        condition: any
`)
	write(t, dir, "srv/web/docker-compose.yml", "services:\n  old:\n    image: busybox\n")
	write(t, dir, "srv/Tools_Dir/docker-compose.yml", `services:
  lint:
    image: registry.local/lint:${TAG}
    build:
      context: .
    restart: "no"
  once:
    image: alpine
    restart: sometimes
`)
	write(t, dir, "srv/broken/compose.yaml", "services:\n  a:\n    image: [unclosed\n")
	write(t, dir, "srv/typed/compose.yaml", "services: "+secret+"\n")
	write(t, dir, "srv/compose.yml", "services:\n  top:\n    image: redis\n    restart: on-failure:3\n")
	write(t, dir, "srv/deep/a/compose.yaml", "services:\n  deep:\n    image: too-deep\n")
	link(t, dir, "srv/evil/compose.yaml", "../../../../../../../.."+filepath.Join(outside, "compose.yaml"))
	link(t, dir, "srv/linked", "/opt/app")
	write(t, dir, "opt/app/compose.yaml", "services:\n  app:\n    image: app:1\n    restart: always\n")
	write(t, dir, "opt/labelled/compose.yaml", "services:\n  l:\n    image: labelled\n")

	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	items, err := Scan(t.Context(), root, nil, []string{"/srv", "/missing"},
		[]string{"/opt/labelled/compose.yaml", "/srv/web/compose.yaml", "/gone/compose.yaml", ""})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		path   string
		name   string
		state  string
		starts []string
		notes  []string
	}{
		{"/srv/web/compose.yaml", "shop", "restarts",
			[]string{"build:api",
				"postgres@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
				"nginx:1.27"},
			[]string{"service api: built locally", "restart policy brings back after a reboot: db, web",
				"named by the compose labels of a running container"}},
		{"/srv/web/docker-compose.yml", "web", "manual", []string{"busybox"},
			[]string{"compose uses /srv/web/compose.yaml in this directory"}},
		{"/srv/Tools_Dir/docker-compose.yml", "tools_dir", "manual",
			[]string{"registry.local/lint:${TAG}", "alpine"},
			[]string{"service lint: built locally and tagged registry.local/lint:${TAG}",
				"service lint: image registry.local/lint:${TAG} is interpolated",
				`service once: unknown restart policy "sometimes"`}},
		{"/srv/broken/compose.yaml", "broken", "unreadable", nil,
			[]string{"does not parse as a compose file: yaml: line 2"}},
		{"/srv/typed/compose.yaml", "typed", "unreadable", nil,
			[]string{"does not parse as a compose file: unexpected value types at line 1"}},
		{"/srv/compose.yml", "srv", "restarts", []string{"redis"},
			[]string{"restart policy brings back after a reboot: top"}},
		{"/srv/evil/compose.yaml", "evil", "unreadable", nil,
			[]string{"not read: symlink leads out of the audited root"}},
		{"/opt/app/compose.yaml", "app", "restarts", []string{"app:1"}, nil},
		{"/opt/labelled/compose.yaml", "labelled", "manual", []string{"labelled"},
			[]string{"named by the compose labels of a running container"}},
		{"/gone/compose.yaml", "gone", "missing", nil, []string{"file does not exist"}},
	}
	if len(items) != len(tests) {
		t.Errorf("got %d items, want %d", len(items), len(tests))
		for _, it := range items {
			t.Logf("  %s %s", it.Path, it.State)
		}
	}
	got := map[string]startup.Item{}
	for _, it := range items {
		if _, dup := got[it.Path]; dup {
			t.Errorf("%s reported twice", it.Path)
		}
		got[it.Path] = it
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			it, ok := got[tt.path]
			if !ok {
				t.Fatalf("no item for %s", tt.path)
			}
			if it.Kind != Kind || it.Name != tt.name || it.State != tt.state || it.Scope != "system" {
				t.Errorf("Kind/Name/State/Scope = %q/%q/%q/%q, want %q/%q/system (notes %q)",
					it.Kind, it.Name, it.State, it.Scope, tt.name, tt.state, it.Notes)
			}
			if fmt.Sprint(it.Starts) != fmt.Sprint(tt.starts) {
				t.Errorf("Starts = %q, want %q", it.Starts, tt.starts)
			}
			for _, n := range tt.notes {
				if !hasNote(it.Notes, n) {
					t.Errorf("no note starting %q in %q", n, it.Notes)
				}
			}
		})
	}

	if it := got["/srv/web/compose.yaml"]; it.Mode != "0644" || len(it.SHA256) != 64 {
		t.Errorf("file facts of /srv/web/compose.yaml: %+v", it)
	}
	all := fmt.Sprintf("%#v", items)
	if strings.Contains(all, secret) {
		t.Error("an item holds a value from a compose file's environment")
	}
	for _, marker := range []string{"OUTSIDE-MARKER", "too-deep"} {
		if strings.Contains(all, marker) {
			t.Errorf("an item holds %q, from a file it must not read", marker)
		}
	}
}

func TestScanEndsWithContext(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "srv/a/compose.yaml", "services:\n  a:\n    image: a\n")
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Scan(ctx, root, nil, []string{"/srv"}, nil); err == nil {
		t.Fatal("Scan with an ended context returned no error")
	}
}

func TestRestartPolicy(t *testing.T) {
	tests := []struct {
		restart, condition string
		want               bool
	}{
		{"", "", false},
		{"no", "", false},
		{"always", "", true},
		{"unless-stopped", "", true},
		{"on-failure", "", true},
		{"on-failure:5", "", true},
		{"", "any", true},
		{"", "on-failure", true},
		{"", "none", false},
		{"no", "any", false},
	}
	for _, tt := range tests {
		var s service
		s.Restart, s.Deploy.RestartPolicy.Condition = tt.restart, tt.condition
		if got, _ := restartPolicy(s); got != tt.want {
			t.Errorf("restartPolicy(restart %q, condition %q) = %v, want %v", tt.restart, tt.condition, got, tt.want)
		}
	}
}

func hasNote(notes []string, prefix string) bool {
	for _, n := range notes {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func link(t *testing.T, dir, rel, target string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}
