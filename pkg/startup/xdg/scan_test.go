package xdg

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcanos-dev/arcanos/pkg/startup"
)

var users = []startup.User{
	{Name: "alice", UID: 1000, Home: "/home/alice"},
	{Name: "bob", UID: 1001, Home: "/home/bob"},
	{Name: "nobody", UID: 65534, Home: "/nonexistent"},
}

func TestScan(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	write(t, outside, "evil.desktop", "[Desktop Entry]\nType=Application\nExec=/outside/OUTSIDE-MARKER\n")

	write(t, dir, "etc/xdg/autostart/tracker.desktop", `# comment
[Desktop Entry]
Type=Application
Name=Tracker
Name[de]=Verfolger
Exec=tracker-miner %U --flag %%x
TryExec=/usr/bin/tracker-miner

[Desktop Action stop]
Exec=/usr/bin/tracker-stop
Hidden=true
`)
	write(t, dir, "usr/bin/tracker-miner", "#!/bin/sh\n")
	write(t, dir, "etc/xdg/autostart/gnome-off.desktop",
		"[Desktop Entry]\nType=Application\nExec=/usr/bin/gsd-foo\nX-GNOME-Autostart-enabled=false\n")
	write(t, dir, "etc/xdg/autostart/bad-bool.desktop",
		"[Desktop Entry]\nType=Application\nExec=/usr/bin/bad\nHidden=yes\n")
	write(t, dir, "etc/xdg/autostart/bad-enable.desktop",
		"[Desktop Entry]\nType=Application\nExec=/usr/bin/maybe\nX-KDE-autostart-enabled=maybe\nOnlyShowIn=KDE;\n")
	write(t, dir, "etc/xdg/autostart/gone.desktop",
		"[Desktop Entry]\nType=Application\nExec=/usr/bin/gone\nTryExec=/usr/bin/not-installed\n")
	write(t, dir, "etc/xdg/autostart/README", "not a desktop file")

	// alice hides the system tracker entry with a file of the same id.
	write(t, dir, "home/alice/.config/autostart/tracker.desktop", "[Desktop Entry]\nHidden=true\n")
	write(t, dir, "home/alice/.config/autostart/own.desktop",
		"[Desktop Entry]\nType=Application\nExec=/home/alice/bin/own %f\n")

	// bob's links: one out of the root, one absolute to an outside path
	// (read inside the root, where it does not exist), one to a system file.
	link(t, dir, "home/bob/.config/autostart/escape.desktop",
		"../../../../../../../../.."+filepath.Join(outside, "evil.desktop"))
	link(t, dir, "home/bob/.config/autostart/abs.desktop", filepath.Join(outside, "evil.desktop"))
	link(t, dir, "home/bob/.config/autostart/linked.desktop", "/etc/xdg/autostart/gnome-off.desktop")

	root, err := os.OpenRoot(dir)
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
		got[it.Scope+" "+it.Name] = it
		if it.Kind != Kind {
			t.Errorf("%s: Kind = %q", it.Name, it.Kind)
		}
	}
	if len(items) != 10 {
		t.Errorf("got %d items, want 10: %v", len(items), keys(got))
	}

	tests := []struct {
		key    string
		state  string
		starts []string
		runAs  string
		notes  []string
	}{
		{"system tracker.desktop", "enabled", []string{"tracker-miner --flag %x"}, "",
			[]string{"TryExec=/usr/bin/tracker-miner: started only when that program exists; present",
				"overridden for user alice by /home/alice/.config/autostart/tracker.desktop"}},
		{"user:alice tracker.desktop", "hidden", nil, "alice",
			[]string{"overrides /etc/xdg/autostart/tracker.desktop"}},
		{"user:alice own.desktop", "enabled", []string{"/home/alice/bin/own"}, "alice", nil},
		{"system gnome-off.desktop", "disabled", []string{"/usr/bin/gsd-foo"}, "",
			[]string{"X-GNOME-Autostart-enabled=false: that desktop does not start it"}},
		{"system bad-bool.desktop", "enabled", []string{"/usr/bin/bad"}, "",
			[]string{`invalid boolean Hidden="yes" on line 4 (only true or false are valid): treated as false`}},
		{"system bad-enable.desktop", "enabled", []string{"/usr/bin/maybe"}, "",
			[]string{`invalid boolean X-KDE-autostart-enabled="maybe"`, "OnlyShowIn=KDE;: depends on the desktop"}},
		{"system gone.desktop", "enabled", []string{"/usr/bin/gone"}, "",
			[]string{"TryExec=/usr/bin/not-installed: started only when that program exists; does not exist, so the session skips it"}},
		{"user:bob escape.desktop", "unreadable", nil, "bob",
			[]string{"not read: symlink leads out of the audited root: not followed"}},
		{"user:bob abs.desktop", "unreadable", nil, "bob", []string{"not read: does not exist"}},
		{"user:bob linked.desktop", "disabled", []string{"/usr/bin/gsd-foo"}, "bob",
			[]string{"symlink to /etc/xdg/autostart/gnome-off.desktop"}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			it, ok := got[tt.key]
			if !ok {
				t.Fatalf("no item %q among %v", tt.key, keys(got))
			}
			if it.State != tt.state {
				t.Errorf("State = %q, want %q (notes %q)", it.State, tt.state, it.Notes)
			}
			if fmt.Sprint(it.Starts) != fmt.Sprint(tt.starts) {
				t.Errorf("Starts = %q, want %q", it.Starts, tt.starts)
			}
			if it.RunAs != tt.runAs {
				t.Errorf("RunAs = %q, want %q", it.RunAs, tt.runAs)
			}
			for _, n := range tt.notes {
				if !hasNote(it.Notes, n) {
					t.Errorf("no note starting %q in %q", n, it.Notes)
				}
			}
		})
	}

	if it := got["system tracker.desktop"]; it.Path != "/etc/xdg/autostart/tracker.desktop" ||
		it.Mode != "0644" || len(it.SHA256) != 64 || it.Owner == "" {
		t.Errorf("file facts of tracker.desktop: %+v", it)
	}
	all := fmt.Sprintf("%+v", items)
	if strings.Contains(all, "OUTSIDE-MARKER") {
		t.Error("items hold content of a file outside the root")
	}
}

func TestScanEndsWithContext(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "etc/xdg/autostart/a.desktop", "[Desktop Entry]\nExec=a\n")
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Scan(ctx, root, nil); err == nil {
		t.Fatal("Scan with an ended context returned no error")
	}
}

func TestStripFieldCodes(t *testing.T) {
	tests := map[string]string{
		"foo %U":               "foo",
		"foo --x=%f bar":       "foo --x= bar",
		"printf 100%%":         "printf 100%",
		"app %i %c %k --start": "app --start",
	}
	for in, want := range tests {
		if got := stripFieldCodes(in); got != want {
			t.Errorf("stripFieldCodes(%q) = %q, want %q", in, got, want)
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

func keys(m map[string]startup.Item) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
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
