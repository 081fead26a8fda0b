package rootfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestResolveStaysInRoot(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	must(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("outside-secret"), 0o644))
	must(t, os.MkdirAll(filepath.Join(dir, "usr/lib/app"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "usr/lib/app/conf"), []byte("in-root"), 0o644))
	links := map[string]string{
		"lib":      "usr/lib",                          // relative, inside
		"abslib":   "/usr/lib",                         // absolute: rooted at the root
		"conf":     "/abslib/app/conf",                 // chain through an absolute dir link
		"escape":   "../../../../../../" + outside[1:], // climbs out
		"absout":   filepath.Join(outside, "secret"),   // absolute path of a file outside
		"loop1":    "loop2",
		"loop2":    "loop1",
		"dotdotok": "usr/lib/../lib/app/conf",
	}
	for name, target := range links {
		must(t, os.Symlink(target, filepath.Join(dir, name)))
	}
	root, err := os.OpenRoot(dir)
	must(t, err)
	t.Cleanup(func() { root.Close() })

	tests := []struct {
		name    string
		rel     string
		want    string
		wantErr error
	}{
		{"relative dir link", "lib/app/conf", "usr/lib/app/conf", nil},
		{"absolute dir link taken as rooted", "abslib/app/conf", "usr/lib/app/conf", nil},
		{"chain of absolute links", "conf", "usr/lib/app/conf", nil},
		{"dot-dot inside the root", "dotdotok", "usr/lib/app/conf", nil},
		{"dot-dot above the root", "escape", "", ErrEscapes},
		{"absolute link to an outside path is read inside", "absout", "", fs.ErrNotExist},
		{"loop", "loop1", "", ErrTooManyLinks},
		{"the root itself", "/", ".", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(root, tt.rel)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Resolve(%q) = %q, %v; want error %v", tt.rel, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Resolve(%q) = %q, %v; want %q", tt.rel, got, err, tt.want)
			}
		})
	}

	data, resolved, err := ReadFile(root, "conf", 100)
	if err != nil || string(data) != "in-root" || resolved != "usr/lib/app/conf" {
		t.Fatalf("ReadFile(conf) = %q, %q, %v", data, resolved, err)
	}
	if _, _, err := ReadFile(root, "conf", 3); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadFile over the limit: err = %v, want ErrTooLarge", err)
	}
	if _, _, err := ReadFile(root, "lib", 100); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("ReadFile of a directory: err = %v, want ErrNotRegular", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
