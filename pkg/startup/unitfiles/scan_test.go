package unitfiles

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/arcanos-dev/arcanos/pkg/startup"
)

const (
	sys  = "etc/systemd/system/"
	run  = "run/systemd/system/"
	vend = "usr/lib/systemd/system/"
)

// fixture writes a root with one case of each thing Scan must tell apart,
// and a file beside the root that a symlink tries to reach.
func fixture(t *testing.T) (*startup.User, []startup.Item) {
	t.Helper()
	base := t.TempDir()
	dir := filepath.Join(base, "root")
	writeTree(t, base, map[string]string{
		"outside.service":  "[Service]\nExecStart=/evil\n",
		"hostpath.service": "[Service]\nExecStart=/evil\n",
	})
	writeTree(t, dir, map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n" +
			"alice:x:1000:1000::/home/alice:/bin/sh\n" +
			"ghost:x:1001:1001::/nonexistent:/bin/sh\n",

		// A continuation with a comment inside, User=, enabled from /etc.
		vend + "web.service": "[Unit]\nDescription=web\n[Service]\nUser=www\n" +
			"ExecStart=/usr/bin/web \\\n    --port 8080 \\\n# not part of it\n    --name \"my site\"\n" +
			"[Install]\nWantedBy=multi-user.target\n",
		sys + "multi-user.target.wants/web.service": "-> /usr/lib/systemd/system/web.service",

		// A drop-in clears ExecStart and sets a new one; a vendor drop-in of
		// the same file name is overridden by the one in /etc.
		vend + "api.service":                 "[Service]\nExecStart=/usr/bin/api-old\n[Install]\nWantedBy=multi-user.target\n",
		vend + "api.service.d/override.conf": "[Service]\nExecStart=/usr/bin/from-vendor-dropin\n",
		sys + "api.service.d/override.conf":  "[Service]\nExecStart=\nExecStart=/usr/bin/api-new --fast\n; comment\nUser=api\n",
		sys + "api.service.d/zz-masked.conf": "-> /dev/null",
		// A type-level drop-in applies to every service.
		"usr/lib/systemd/system/service.d/10-all.conf": "[Service]\nEnvironment=A=1\n",

		// Masks: absolute /dev/null link over a vendor unit, relative
		// link, empty file, and one in /run.
		vend + "absmask.service":  "[Service]\nExecStart=/usr/bin/absmask\n",
		sys + "absmask.service":   "-> /dev/null",
		sys + "relmask.service":   "-> ../../../dev/null",
		sys + "emptymask.service": "",
		run + "rtmask.service":    "-> /dev/null",

		// Links leaving the root, or into a host path the root lacks.
		sys + "outside.service":  "-> ../../../../outside.service",
		sys + "hostpath.service": "-> " + filepath.Join(base, "hostpath.service"),

		// /etc shadows /usr/lib.
		vend + "dup.service": "[Service]\nExecStart=/usr/bin/vendor-dup\n",
		sys + "dup.service":  "[Service]\nExecStart=/usr/bin/admin-dup\n",

		// No [Install]: static, even with a vendor wants link.
		vend + "helper.service":                         "[Service]\nExecStart=/usr/bin/helper\n",
		vend + "multi-user.target.wants/helper.service": "-> ../helper.service",

		// An alias, a template enabled through its default instance, a
		// timer, a generated unit, a link with no unit file, a broken file.
		sys + "www.service": "-> web.service",
		vend + "worker@.service": "[Service]\nExecStart=/usr/bin/worker %i\n" +
			"[Install]\nWantedBy=multi-user.target\nDefaultInstance=main\n",
		sys + "multi-user.target.wants/worker@main.service": "-> /usr/lib/systemd/system/worker@.service",
		vend + "backup.timer":                               "[Timer]\nOnCalendar=daily\n[Install]\nWantedBy=timers.target\n",
		sys + "timers.target.wants/backup.timer":            "-> /usr/lib/systemd/system/backup.timer",
		"run/systemd/generator/gen.service":                 "[Service]\nExecStart=/usr/bin/gen\n",
		sys + "multi-user.target.wants/gone.service":        "-> /opt/gone/gone.service",
		sys + "broken.service":                              "garbage\n[Service]\nExecStart=/bin/x \"open\n",

		// A file where a directory should be.
		"etc/systemd/system.control": "not a directory",

		// User units: a global one, enabled by alice; alice's own unit; a
		// global one alice does not touch.
		"etc/systemd/user/sync.service":                                     "[Service]\nExecStart=/usr/bin/sync-files\n[Install]\nWantedBy=default.target\n",
		"home/alice/.config/systemd/user/default.target.wants/sync.service": "-> /etc/systemd/user/sync.service",
		"home/alice/.config/systemd/user/own.service":                       "[Service]\nExecStart=/home/alice/bin/own\n",
		"usr/lib/systemd/user/untouched.service":                            "[Service]\nExecStart=/usr/bin/untouched\n",
	})

	root := openRoot(t, dir)
	users := startup.Users(root)
	items, err := Scan(t.Context(), root, users)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return &users[1], items
}

func find(items []startup.Item, scope, name string) *startup.Item {
	for i := range items {
		if items[i].Scope == scope && items[i].Name == name {
			return &items[i]
		}
	}
	return nil
}

func TestScanUnitFiles(t *testing.T) {
	_, items := fixture(t)

	tests := []struct {
		name   string
		scope  string
		unit   string
		path   string
		state  string
		starts []string
		runAs  string
		notes  []string // each must appear in some note
	}{
		{"continuation lines join into one command", "system", "web.service",
			"/usr/lib/systemd/system/web.service", "enabled",
			[]string{"/usr/bin/web --port 8080 --name 'my site'"}, "www",
			[]string{"enabled by /etc/systemd/system/multi-user.target.wants/web.service"}},
		{"drop-in clears ExecStart and sets a new one", "system", "api.service",
			"/usr/lib/systemd/system/api.service", "disabled",
			[]string{"/usr/bin/api-new --fast"}, "api",
			[]string{"drop-in /etc/systemd/system/api.service.d/override.conf",
				"drop-in /usr/lib/systemd/system/service.d/10-all.conf",
				"drop-in /etc/systemd/system/api.service.d/zz-masked.conf is masked"}},
		{"absolute /dev/null link masks and shadows the vendor unit", "system", "absmask.service",
			"/etc/systemd/system/absmask.service", "masked", nil, "",
			[]string{"overrides /usr/lib/systemd/system/absmask.service", "symlink to /dev/null"}},
		{"relative /dev/null link masks", "system", "relmask.service",
			"/etc/systemd/system/relmask.service", "masked", nil, "", nil},
		{"empty file masks", "system", "emptymask.service",
			"/etc/systemd/system/emptymask.service", "masked", nil, "", []string{"empty file"}},
		{"mask in /run is runtime", "system", "rtmask.service",
			"/run/systemd/system/rtmask.service", "masked-runtime", nil, "", nil},
		{"link out of the root is not followed", "system", "outside.service",
			"/etc/systemd/system/outside.service", "bad", nil, "",
			[]string{"points outside the audit root; not followed"}},
		{"absolute host path is looked up in the root", "system", "hostpath.service",
			"/etc/systemd/system/hostpath.service", "bad", nil, "", []string{"does not exist"}},
		{"higher-priority dir shadows", "system", "dup.service",
			"/etc/systemd/system/dup.service", "static",
			[]string{"/usr/bin/admin-dup"}, "", []string{"overrides /usr/lib/systemd/system/dup.service"}},
		{"vendor wants link does not enable", "system", "helper.service",
			"/usr/lib/systemd/system/helper.service", "static",
			[]string{"/usr/bin/helper"}, "", []string{"does not enable it"}},
		{"symlink under another name is an alias", "system", "www.service",
			"/etc/systemd/system/www.service", "alias", nil, "", []string{"alias of web.service"}},
		{"template enabled through its default instance", "system", "worker@.service",
			"/usr/lib/systemd/system/worker@.service", "enabled",
			[]string{"/usr/bin/worker %i"}, "", nil},
		{"timer starts its service", "system", "backup.timer",
			"/usr/lib/systemd/system/backup.timer", "enabled", []string{"backup.service"}, "", nil},
		{"generator output is generated", "system", "gen.service",
			"/run/systemd/generator/gen.service", "generated", []string{"/usr/bin/gen"}, "", nil},
		{"wants link without a unit file", "system", "gone.service",
			"/etc/systemd/system/multi-user.target.wants/gone.service", "not-found", nil, "",
			[]string{"no unit file of that name"}},
		{"invalid lines become notes", "system", "broken.service",
			"/etc/systemd/system/broken.service", "static", nil, "",
			[]string{"line 1: missing '='", "ExecStart: unbalanced quotes"}},
		{"unreadable search dir is reported", "system", "/etc/systemd/system.control",
			"/etc/systemd/system.control", "unreadable", nil, "", []string{"not a directory"}},
		{"global user unit", "user", "sync.service",
			"/etc/systemd/user/sync.service", "disabled", []string{"/usr/bin/sync-files"}, "", nil},
		{"user enables a global unit", "user:alice", "sync.service",
			"/etc/systemd/user/sync.service", "enabled", []string{"/usr/bin/sync-files"}, "alice",
			[]string{"enabled by /home/alice/.config/systemd/user/default.target.wants/sync.service"}},
		{"user's own unit", "user:alice", "own.service",
			"/home/alice/.config/systemd/user/own.service", "static",
			[]string{"/home/alice/bin/own"}, "alice", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := find(items, tt.scope, tt.unit)
			if it == nil {
				t.Fatalf("no item %s in scope %s", tt.unit, tt.scope)
			}
			if it.Kind != Kind || it.Path != tt.path || it.State != tt.state || it.RunAs != tt.runAs {
				t.Errorf("got kind=%s path=%s state=%s runAs=%q, want path=%s state=%s runAs=%q (notes %q)",
					it.Kind, it.Path, it.State, it.RunAs, tt.path, tt.state, tt.runAs, it.Notes)
			}
			if !reflect.DeepEqual(it.Starts, tt.starts) {
				t.Errorf("Starts = %q, want %q", it.Starts, tt.starts)
			}
			for _, want := range tt.notes {
				if !hasNote(it.Notes, want) {
					t.Errorf("no note containing %q in %q", want, it.Notes)
				}
			}
		})
	}
}

func TestScanNeverReadsOutsideOrInventsItems(t *testing.T) {
	_, items := fixture(t)
	for _, it := range items {
		for _, s := range it.Starts {
			if strings.Contains(s, "evil") || strings.Contains(s, "from-vendor-dropin") || strings.Contains(s, "api-old") {
				t.Errorf("%s %s starts %q, which it must not", it.Scope, it.Name, s)
			}
		}
		if it.Name == "worker@main.service" {
			t.Errorf("instance link reported as its own unit: %+v", it)
		}
		if it.Scope == "user:alice" && it.Name == "untouched.service" {
			t.Errorf("global user unit alice does not touch reported for her: %+v", it)
		}
		if strings.HasPrefix(it.Scope, "user:") && it.Scope != "user:alice" {
			t.Errorf("item for a user without unit dirs: %+v", it)
		}
	}
	if it := find(items, "system", "outside.service"); it != nil && it.SHA256 != "" {
		t.Errorf("outside.service was hashed: %+v", it)
	}
	if it := find(items, "system", "web.service"); it == nil || it.SHA256 == "" || it.Mode != "0644" || it.Owner == "" {
		t.Errorf("web.service lacks file facts: %+v", it)
	}
}

func TestScanReadsAMergedUsrDirOnce(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"usr/lib/systemd/system/a.service": "[Service]\nExecStart=/bin/a\n",
		"lib":                              "-> usr/lib",
	})
	items, err := Scan(t.Context(), openRoot(t, dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 {
		t.Fatalf("items = %+v, want one", items)
	}
	// Debian searches /lib first, and names the unit by it, as systemd does.
	if it := items[0]; it.Path != "/lib/systemd/system/a.service" || len(it.Notes) != 0 {
		t.Errorf("item = %+v, want /lib path and no shadow note", it)
	}
}

func TestScanStopsOnCancel(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{vend + "a.service": "[Service]\nExecStart=/bin/a\n"})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Scan(ctx, openRoot(t, dir), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Scan with a cancelled ctx: err = %v, want context.Canceled", err)
	}
}

func TestApplySystemdView(t *testing.T) {
	items := []startup.Item{
		{Kind: Kind, Name: "a.service", Scope: "system", State: "disabled"},
		{Kind: Kind, Name: "b.service", Scope: "system", State: "enabled"},
		{Kind: Kind, Name: "c.service", Scope: "system", State: "static"},
		{Kind: Kind, Name: "a.service", Scope: "user", State: "disabled"},
		{Kind: "initd_script", Name: "a.service", Scope: "system", State: "disabled"},
	}
	ApplySystemdView(items, map[string]string{"a.service": "enabled", "b.service": "enabled"})

	want := []string{"enabled", "enabled", "static", "disabled", "disabled"}
	for i, it := range items {
		if it.State != want[i] {
			t.Errorf("item %d (%s %s) state = %s, want %s", i, it.Scope, it.Name, it.State, want[i])
		}
	}
	if !hasNote(items[0].Notes, "raw unit files say disabled; systemd says enabled") {
		t.Errorf("disagreement not noted: %q", items[0].Notes)
	}
	if len(items[1].Notes)+len(items[2].Notes)+len(items[3].Notes) != 0 {
		t.Errorf("notes added where nothing changed: %+v", items)
	}
}

func TestSystemUnitNamesLeavesOutGenerated(t *testing.T) {
	_, items := fixture(t)
	names := SystemUnitNames(items)
	for _, n := range []string{"web.service", "absmask.service", "dup.service"} {
		if !names[n] {
			t.Errorf("%s missing from %v", n, names)
		}
	}
	for _, n := range []string{"gen.service", "gone.service", "sync.service"} {
		if names[n] {
			t.Errorf("%s must not count as a native system unit", n)
		}
	}
}

func hasNote(notes []string, want string) bool {
	for _, n := range notes {
		if strings.Contains(n, want) {
			return true
		}
	}
	return false
}
