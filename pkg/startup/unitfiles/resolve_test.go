package unitfiles

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
)

func TestResolveStaysInsideTheRoot(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "root")
	writeTree(t, base, map[string]string{"secret": "outside"})
	writeTree(t, dir, map[string]string{
		"usr/lib/systemd/system/a.service": "[Service]\n",
		"lib":                              "-> usr/lib",
		"abs":                              "-> /usr/lib/systemd/system/a.service",
		"rel":                              "-> ../root/usr/lib/systemd/system/a.service",
		"chain":                            "-> abs",
		"up":                               "-> ../secret",
		"deep/up":                          "-> ../../secret",
		"hostabs":                          "-> " + filepath.Join(base, "secret"),
		"null-abs":                         "-> /dev/null",
		"etc/systemd/system/null-rel":      "-> ../../../dev/null",
		"loop1":                            "-> loop2",
		"loop2":                            "-> loop1",
	})
	root := openRoot(t, dir)

	tests := []struct {
		name    string
		rel     string
		want    string
		exists  bool
		wantErr error
	}{
		{"plain file", "usr/lib/systemd/system/a.service", "usr/lib/systemd/system/a.service", true, nil},
		{"directory symlink in the middle", "lib/systemd/system/a.service", "usr/lib/systemd/system/a.service", true, nil},
		{"absolute target taken from the root", "abs", "usr/lib/systemd/system/a.service", true, nil},
		{"chain of links", "chain", "usr/lib/systemd/system/a.service", true, nil},
		{"relative link climbing above the root", "up", "", false, ErrEscapes},
		{"relative link climbing above the root from a subdir", "deep/up", "", false, ErrEscapes},
		{"relative link through the root's own name", "rel", "", false, ErrEscapes},
		{"absolute host path resolves inside the root", "hostabs", filepath.Join(base, "secret")[1:], false, nil},
		{"absolute /dev/null", "null-abs", "dev/null", false, nil},
		{"relative ../../../dev/null", "etc/systemd/system/null-rel", "dev/null", false, nil},
		{"dotdot in the input", "usr/../../x", "", false, ErrEscapes},
		{"missing file", "usr/lib/none", "usr/lib/none", false, nil},
		{"symlink loop", "loop1", "", false, syscall.ELOOP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(root, tt.rel)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Resolve(%q) error = %v, want %v", tt.rel, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.rel, err)
			}
			if got.Path != tt.want || (got.Info != nil) != tt.exists {
				t.Errorf("Resolve(%q) = %q exists=%v, want %q exists=%v",
					tt.rel, got.Path, got.Info != nil, tt.want, tt.exists)
			}
		})
	}
}
