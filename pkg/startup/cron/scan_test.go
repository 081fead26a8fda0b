package cron

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcanos-dev/arcanos/pkg/startup"
	"github.com/arcanos-dev/arcanos/pkg/testbed"
)

const secret = "s3cret-cron-token-value"

var users = []startup.User{
	{Name: "root", UID: 0, Home: "/root"},
	{Name: "alice", UID: 1000, Home: "/home/alice"},
	{Name: "deploy", UID: 1001, Home: "/srv/deploy"},
}

func fixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	outside := t.TempDir()
	write(t, outside, "evil", "@reboot root /outside/OUTSIDE-MARKER\n", 0o644)

	write(t, dir, "etc/crontab", `# /etc/crontab: system-wide crontab
SHELL=/bin/sh
API_TOKEN=`+secret+`
17 *	* * *	root    cd / && run-parts --report /etc/cron.hourly
@reboot root /usr/local/bin/boot.sh --quiet
@hourly root /usr/bin/not-at-boot
   	@reboot	deploy   /srv/deploy/start.sh 2>&1
`, 0o644)
	write(t, dir, "etc/cron.d/backup", "# m h dom mon dow user command\n"+
		`"DB_PASSWORD" = `+secret+"\n\n@reboot root /opt/backup/init % now\n", 0o644)
	write(t, dir, "etc/cron.d/backup.dpkg-old", "@reboot root /opt/backup/old\n", 0o644)
	write(t, dir, "etc/cron.d/.placeholder", "# DO NOT EDIT OR REMOVE\n", 0o644)
	write(t, dir, "etc/cron.d/open", "@reboot root /usr/bin/open\n", 0o666)
	link(t, dir, "etc/cron.d/escape", "../../../../../../../.."+filepath.Join(outside, "evil"))
	write(t, dir, "var/spool/cron/crontabs/alice", "MAILTO=alice\n@reboot /home/alice/bin/agent\n", 0o600)
	write(t, dir, "var/spool/cron/crontabs/ghost", "@reboot /tmp/ghost\n", 0o600)
	write(t, dir, "var/spool/cron/root", "@reboot /root/redhat-style\n", 0o600)
	return dir
}

func TestScan(t *testing.T) {
	root, err := os.OpenRoot(fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })

	items, err := Scan(t.Context(), root, users)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]startup.Item{}
	for _, it := range items {
		got[it.Name] = it
	}

	tests := []struct {
		name   string
		state  string
		scope  string
		starts string
		runAs  string
		notes  []string
	}{
		{"/etc/crontab:5", "enabled", "system", "/usr/local/bin/boot.sh --quiet", "root",
			[]string{"environment set above this line (values not kept): SHELL, API_TOKEN"}},
		{"/etc/crontab:7", "enabled", "system", "/srv/deploy/start.sh 2>&1", "deploy", nil},
		{"/etc/cron.d/backup:4", "enabled", "system", "/opt/backup/init % now", "root",
			[]string{"environment set above this line (values not kept): DB_PASSWORD",
				"the command holds an unescaped %"}},
		{"/etc/cron.d/backup.dpkg-old:1", "ignored", "system", "/opt/backup/old", "root",
			[]string{"cron skips files in /etc/cron.d whose name holds a dot"}},
		{"/etc/cron.d/open:1", "ignored", "system", "/usr/bin/open", "root",
			[]string{"cron ignores this file: group- or world-writable"}},
		{"/etc/cron.d/escape", "unreadable", "system", "", "",
			[]string{"not read: symlink leads out of the audited root"}},
		{"/var/spool/cron/crontabs/alice:2", "enabled", "user:alice", "/home/alice/bin/agent", "alice",
			[]string{"environment set above this line (values not kept): MAILTO"}},
		{"/var/spool/cron/crontabs/ghost:1", "ignored", "user:ghost", "/tmp/ghost", "ghost",
			[]string{"cron ignores this file: no user ghost in /etc/passwd"}},
		{"/var/spool/cron/root:1", "enabled", "user:root", "/root/redhat-style", "root", nil},
	}
	if len(items) != len(tests) {
		t.Errorf("got %d items, want %d: %v", len(items), len(tests), names(items))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it, ok := got[tt.name]
			if !ok {
				t.Fatalf("no item %q among %v", tt.name, names(items))
			}
			if it.Kind != Kind || it.State != tt.state || it.Scope != tt.scope || it.RunAs != tt.runAs {
				t.Errorf("Kind/State/Scope/RunAs = %q/%q/%q/%q, want cron/%q/%q/%q (notes %q)",
					it.Kind, it.State, it.Scope, it.RunAs, tt.state, tt.scope, tt.runAs, it.Notes)
			}
			if tt.starts != "" && (len(it.Starts) != 1 || it.Starts[0] != tt.starts) {
				t.Errorf("Starts = %q, want [%q]", it.Starts, tt.starts)
			}
			for _, n := range tt.notes {
				if !hasNote(it.Notes, n) {
					t.Errorf("no note starting %q in %q", n, it.Notes)
				}
			}
		})
	}

	if it := got["/etc/crontab:5"]; it.Path != "/etc/crontab" || it.Mode != "0644" || len(it.SHA256) != 64 {
		t.Errorf("file facts of /etc/crontab: %+v", it)
	}
	all := fmt.Sprintf("%#v", items)
	if strings.Contains(all, secret) {
		t.Error("an item holds the value of a crontab variable")
	}
	if strings.Contains(all, "OUTSIDE-MARKER") {
		t.Error("an item holds content of a file outside the root")
	}
}

func TestScanIgnoresSystemCrontabNotOwnedByRoot(t *testing.T) {
	testbed.RequireRoot(t)
	dir := fixture(t)
	if err := os.Chown(filepath.Join(dir, "etc/cron.d/backup"), 1000, 1000); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(dir, "var/spool/cron/crontabs/alice"), 1001, 1001); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()

	items, err := Scan(t.Context(), root, users)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"/etc/cron.d/backup:4":             "cron ignores this file: not owned by root (uid 1000)",
		"/var/spool/cron/crontabs/alice:2": "cron ignores this file: owned by uid 1001, neither root nor alice",
	}
	for _, it := range items {
		note, ok := want[it.Name]
		if !ok {
			continue
		}
		delete(want, it.Name)
		if it.State != "ignored" || !hasNote(it.Notes, note) {
			t.Errorf("%s: State %q notes %q; want ignored with %q", it.Name, it.State, it.Notes, note)
		}
		if it.Owner != map[string]string{"/etc/cron.d/backup:4": "alice", "/var/spool/cron/crontabs/alice:2": "deploy"}[it.Name] {
			t.Errorf("%s: Owner = %q", it.Name, it.Owner)
		}
	}
	if len(want) > 0 {
		t.Errorf("items missing: %v", want)
	}
}

func TestScanEndsWithContext(t *testing.T) {
	root, err := os.OpenRoot(fixture(t))
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

func TestEnvName(t *testing.T) {
	tests := []struct {
		line string
		name string
		ok   bool
	}{
		{"PATH=/usr/bin", "PATH", true},
		{`"QUOTED" = value with spaces`, "QUOTED", true},
		{"@reboot root X=1 cmd", "", false},
		{"*/5 * * * * root A=b cmd", "", false},
		{"0 0 * * * root cmd", "", false},
		{"not an env line", "", false},
	}
	for _, tt := range tests {
		name, ok := envName(tt.line)
		if name != tt.name || ok != tt.ok {
			t.Errorf("envName(%q) = %q, %v; want %q, %v", tt.line, name, ok, tt.name, tt.ok)
		}
	}
}

func names(items []startup.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Name)
	}
	return out
}

func hasNote(notes []string, prefix string) bool {
	for _, n := range notes {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

func write(t *testing.T, dir, rel, content string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
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
