package pm2startup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcanos-dev/arcanos/pkg/startup"
)

const secret = "s3cret-pm2-env-value"

var users = []startup.User{
	{Name: "root", UID: 0, Home: "/root"},
	{Name: "alice", UID: 1000, Home: "/home/alice"},
	{Name: "deploy", UID: 1001, Home: "/home/deploy"},
	{Name: "carol", UID: 1002, Home: "/home/carol"},
	{Name: "dave", UID: 1003, Home: "/home/dave"},
}

// unitText is what `pm2 startup` writes, with its placeholders filled.
func unitText(user, home string) string {
	return fmt.Sprintf(`[Unit]
Description=PM2 process manager
After=network.target

[Service]
Type=forking
User=%s
Environment=PATH=/usr/bin:/bin
Environment=PM2_HOME=%s
PIDFile=%s/pm2.pid
Restart=on-failure

ExecStart=/usr/lib/node_modules/pm2/bin/pm2 resurrect
ExecStop=/usr/lib/node_modules/pm2/bin/pm2 kill

[Install]
WantedBy=multi-user.target
`, user, home, home)
}

// dumpText is a dump file as pm2 writes it: each app with its environment.
const dumpText = `[
 {"name":"api","pm_exec_path":"/srv/api/server.js","env":{"DB_PASSWORD":"` + secret + `"},
  "pm2_env":{"DB_PASSWORD":"` + secret + `","instances":1},"exec_mode":"fork_mode"},
 {"name":"worker","pm_exec_path":"/srv/worker/index.js","env":{"TOKEN":"` + secret + `"}}
]`

func TestScan(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	write(t, outside, "unit", unitText("root", "/root/.pm2")+"# OUTSIDE-MARKER\n")

	sys := "etc/systemd/system/"
	write(t, dir, sys+"pm2-alice.service", unitText("alice", "/home/alice/.pm2"))
	write(t, dir, sys+"pm2-alice.service.d/env.conf",
		"[Service]\nEnvironment=\"PM2_HOME=/home/alice/.pm2\" \"OTHER_SECRET="+secret+"\"\n")
	link(t, dir, sys+"multi-user.target.wants/pm2-alice.service", "/etc/systemd/system/pm2-alice.service")
	write(t, dir, "home/alice/.pm2/dump.pm2", dumpText)
	write(t, dir, "lib/systemd/system/pm2-alice.service", unitText("alice", "/home/alice/.pm2"))

	// The unit's name says deploy, but User= runs alice's PM2.
	write(t, dir, sys+"pm2-deploy.service", unitText("alice", "/home/alice/.pm2"))
	// `sudo pm2 startup -u carol` without --hp: root's PM2 home.
	write(t, dir, sys+"pm2-carol.service", unitText("carol", "/root/.pm2"))
	// PIDFile= edited away from PM2_HOME; dump file broken.
	write(t, dir, sys+"pm2-dave.service", strings.Replace(unitText("dave", "/home/dave/.pm2"),
		"PIDFile=/home/dave/.pm2/pm2.pid", "PIDFile=/run/pm2.pid", 1))
	write(t, dir, "home/dave/.pm2/dump.pm2", `[{"name":"x","env":{"K":"`+secret+`"}`)
	link(t, dir, sys+"pm2-erin.service", "/dev/null")
	link(t, dir, sys+"pm2-evil.service", "../../../../../../../.."+filepath.Join(outside, "unit"))
	write(t, dir, sys+"nginx.service", unitText("root", "/root/.pm2"))
	// A PM2 home with a dump but no unit brings nothing back at boot.
	write(t, dir, "home/deploy/.pm2/dump.pm2", dumpText)

	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	items, err := Scan(t.Context(), root, users)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		path   string
		state  string
		runAs  string
		starts []string
		notes  []string
		absent []string
	}{
		{"/etc/systemd/system/pm2-alice.service", "enabled", "alice", []string{"api", "worker"},
			[]string{"drop-in /etc/systemd/system/pm2-alice.service.d/env.conf applied",
				"app api runs /srv/api/server.js", "app worker runs /srv/worker/index.js"},
			[]string{"unit name", "PM2_HOME", "PIDFile", "no dump"}},
		{"/lib/systemd/system/pm2-alice.service", "shadowed", "alice", []string{"api", "worker"},
			[]string{"shadowed by /etc/systemd/system/pm2-alice.service"}, nil},
		{"/etc/systemd/system/pm2-deploy.service", "mismatch", "alice", []string{"api", "worker"},
			[]string{"unit name is for user deploy but User=alice"}, nil},
		{"/etc/systemd/system/pm2-carol.service", "mismatch", "carol", nil,
			[]string{"PM2_HOME /root/.pm2 is outside the home /home/carol of user carol",
				"no dump file /root/.pm2/dump.pm2: pm2 resurrect starts no apps"},
			[]string{"PIDFile"}},
		{"/etc/systemd/system/pm2-dave.service", "mismatch", "dave", nil,
			[]string{"PIDFile=/run/pm2.pid is not pm2.pid in PM2_HOME /home/dave/.pm2",
				"dump file /home/dave/.pm2/dump.pm2 is not valid JSON"}, nil},
		{"/etc/systemd/system/pm2-erin.service", "masked", "", nil, nil, nil},
		{"/etc/systemd/system/pm2-evil.service", "unreadable", "", nil,
			[]string{"not read: symlink leads out of the audited root"}, nil},
	}
	if len(items) != len(tests) {
		t.Errorf("got %d items, want %d: %+v", len(items), len(tests), items)
	}
	got := map[string]startup.Item{}
	for _, it := range items {
		got[it.Path] = it
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			it, ok := got[tt.path]
			if !ok {
				t.Fatalf("no item for %s", tt.path)
			}
			if it.Kind != Kind || it.Name != filepath.Base(tt.path) || it.State != tt.state || it.RunAs != tt.runAs {
				t.Errorf("Kind/Name/State/RunAs = %q/%q/%q/%q, want %q/%q/%q (notes %q)", it.Kind, it.Name,
					it.State, it.RunAs, filepath.Base(tt.path), tt.state, tt.runAs, it.Notes)
			}
			if fmt.Sprint(it.Starts) != fmt.Sprint(tt.starts) {
				t.Errorf("Starts = %q, want %q", it.Starts, tt.starts)
			}
			for _, n := range tt.notes {
				if !hasNote(it.Notes, n) {
					t.Errorf("no note starting %q in %q", n, it.Notes)
				}
			}
			for _, n := range tt.absent {
				if containsNote(it.Notes, n) {
					t.Errorf("a note mentions %q: %q", n, it.Notes)
				}
			}
		})
	}

	all := fmt.Sprintf("%#v", items)
	if strings.Contains(all, secret) {
		t.Error("an item holds a secret from a dump file or an Environment= line")
	}
	if strings.Contains(all, "OUTSIDE-MARKER") {
		t.Error("an item holds content of a file outside the root")
	}
}

func TestScanEndsWithContext(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "etc/systemd/system/pm2-alice.service", unitText("alice", "/home/alice/.pm2"))
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Scan(ctx, root, users); err == nil {
		t.Fatal("Scan with an ended context returned no error")
	}
}

func TestSplitWords(t *testing.T) {
	tests := map[string][]string{
		`PM2_HOME=/a B=c`:             {"PM2_HOME=/a", "B=c"},
		`"PM2_HOME=/a b" 'C=d e'`:     {"PM2_HOME=/a b", "C=d e"},
		`X=a\ b  Y=""`:                {"X=a b", "Y="},
		`/usr/bin/pm2 resurrect`:      {"/usr/bin/pm2", "resurrect"},
		"PM2_HOME=/home/x/.pm2\tZ=1 ": {"PM2_HOME=/home/x/.pm2", "Z=1"},
	}
	for in, want := range tests {
		if got := splitWords(in); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("splitWords(%q) = %q, want %q", in, got, want)
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

func containsNote(notes []string, s string) bool {
	for _, n := range notes {
		if strings.Contains(n, s) {
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
