package initd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/arcanos-dev/arcanos/pkg/startup"
)

// writeTree creates files under dir; a value starting with "-> " makes a
// symlink to the rest.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "-> "); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

const lsb = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          %s
# Required-Start:    $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: the %s daemon
# Description:       a longer text
#                    on two lines
### END INIT INFO
`

func lsbHeader(name string) string {
	return strings.ReplaceAll(lsb, "%s", name)
}

func TestScanInitScripts(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "root")
	writeTree(t, base, map[string]string{"outside": lsbHeader("evil") + "DAEMON=/evil\n"})
	writeTree(t, dir, map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
		"etc/init.d/legacy": lsbHeader("legacy") +
			"NAME=legacyd\nDAEMON=/usr/sbin/$NAME\nUSER=nobody\n" +
			"start-stop-daemon --start --chuid $USER --exec $DAEMON\n",
		"etc/rc2.d/S01legacy": "-> ../init.d/legacy",
		"etc/rc3.d/S01legacy": "-> ../init.d/legacy",
		"etc/rc0.d/K01legacy": "-> ../init.d/legacy",

		"etc/init.d/nginx":      lsbHeader("nginx") + "DAEMON=/usr/sbin/nginx\n",
		"etc/rc2.d/S02nginx":    "-> ../init.d/nginx",
		"etc/init.d/hwclock.sh": lsbHeader("hwclock") + "HWCLOCK=/sbin/hwclock\n",

		"etc/init.d/computed":     lsbHeader("computed") + "DAEMON=$(command -v computed)\n",
		"etc/init.d/guess":        lsbHeader("guessd") + "start-stop-daemon --start -c daemonuser --exec /x\n",
		"usr/sbin/guessd":         "binary",
		"etc/init.d/plain":        "#!/bin/sh\nsu -c 'echo hi' root\n",
		"etc/init.d/escape":       "-> ../../../outside",
		"etc/init.d/README":       "not a script",
		"etc/init.d/skeleton":     lsbHeader("skeleton"),
		"etc/init.d/old.dpkg-old": lsbHeader("old"),
	})
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()

	units := map[string]bool{"nginx.service": true, "hwclock.service": true, "other.service": true}
	items, err := Scan(t.Context(), root, startup.Users(root), units)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}

	tests := []struct {
		name   string
		script string
		state  string
		starts []string
		runAs  string
		notes  []string
	}{
		{"enabled by S links, daemon from DAEMON with a variable", "legacy", "enabled",
			[]string{"/usr/sbin/legacyd"}, "nobody",
			[]string{"S links in runlevels 2 3", "Short-Description: the legacy daemon", "Default-Start: 2 3 4 5"}},
		{"native unit shadows an enabled script", "nginx", "shadowed",
			[]string{"/usr/sbin/nginx"}, "",
			[]string{"native unit nginx.service exists", "rc links would start it"}},
		{"a .sh script is shadowed by the unit without .sh", "hwclock.sh", "shadowed",
			[]string{"/etc/init.d/hwclock.sh"}, "", []string{"native unit hwclock.service exists"}},
		{"computed DAEMON falls back to the script", "computed", "disabled",
			[]string{"/etc/init.d/computed"}, "", nil},
		{"daemon guessed from Provides", "guess", "disabled",
			[]string{"/usr/sbin/guessd"}, "daemonuser", []string{"guessed from Provides"}},
		{"no header, no links", "plain", "disabled",
			[]string{"/etc/init.d/plain"}, "", []string{"no LSB header"}},
		{"link out of the root is not followed", "escape", "bad", nil, "",
			[]string{"points outside the audit root; not followed"}},
	}
	byName := map[string]startup.Item{}
	for _, it := range items {
		byName[it.Name] = it
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it, ok := byName[tt.script]
			if !ok {
				t.Fatalf("no item for %s in %+v", tt.script, items)
			}
			if it.Kind != Kind || it.Scope != "system" || it.Path != "/etc/init.d/"+tt.script {
				t.Errorf("kind/scope/path = %s %s %s", it.Kind, it.Scope, it.Path)
			}
			if it.State != tt.state || it.RunAs != tt.runAs || !reflect.DeepEqual(it.Starts, tt.starts) {
				t.Errorf("state=%s runAs=%q starts=%q, want %s %q %q (notes %q)",
					it.State, it.RunAs, it.Starts, tt.state, tt.runAs, tt.starts, it.Notes)
			}
			for _, want := range tt.notes {
				found := false
				for _, n := range it.Notes {
					found = found || strings.Contains(n, want)
				}
				if !found {
					t.Errorf("no note containing %q in %q", want, it.Notes)
				}
			}
		})
	}

	for _, skipped := range []string{"README", "skeleton", "old.dpkg-old"} {
		if _, ok := byName[skipped]; ok {
			t.Errorf("%s reported as a script", skipped)
		}
	}
	if it := byName["legacy"]; it.SHA256 == "" || it.Mode != "0755" || it.Owner != "root" {
		t.Errorf("legacy lacks file facts: %+v", it)
	}
	if it := byName["escape"]; it.SHA256 != "" || len(it.Starts) != 0 {
		t.Errorf("escape was read: %+v", it)
	}
}

func TestScanWithoutInitDir(t *testing.T) {
	root, err := os.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	items, err := Scan(t.Context(), root, nil, nil)
	if err != nil || len(items) != 0 {
		t.Fatalf("Scan of a root without /etc/init.d = %+v, %v; want nothing", items, err)
	}
}

func TestScanStopsOnCancel(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"etc/init.d/a": "#!/bin/sh\n"})
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Scan(ctx, root, nil, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
