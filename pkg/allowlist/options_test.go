package allowlist

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// With SkipHostFiles the named ecosystem file is never read: a file that
// would fail (it does not exist) passes, and one that exists is not
// evaluated (a FIFO at the path would block a reader). Everything else is
// still checked.
func TestParseWithSkipHostFilesLeavesTheEcosystemFileUnread(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "ecosystem.config.js")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, eco := range []string{filepath.Join(dir, "missing.config.js"), fifo} {
		doc := `{"authorizedProcesses": ["nginx"], "pm2Ecosystem": "` + eco + `"}`
		if _, err := Parse([]byte(doc), ""); err == nil {
			t.Errorf("Parse of %s: no error; the test needs a file that fails when read", eco)
		}
		a, err := ParseWith([]byte(doc), "", ParseOptions{SkipHostFiles: true})
		if err != nil {
			t.Fatalf("ParseWith SkipHostFiles of %s: %v", eco, err)
		}
		if a.PM2Ecosystem != eco || len(a.PM2Apps) != 0 {
			t.Errorf("ParseWith SkipHostFiles: ecosystem %q apps %v, want the path as named and no apps",
				a.PM2Ecosystem, a.PM2Apps)
		}
	}

	_, err := ParseWith([]byte(`{"pm2Ecosystem": 7, "authorizedProcesses": [""]}`), "",
		ParseOptions{SkipHostFiles: true})
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 2 ||
		!strings.Contains(ve.Problems[0].Message, "pm2Ecosystem must be a string") {
		t.Fatalf("ParseWith SkipHostFiles of a bad document: %v, want its two problems", err)
	}
}

func TestParseWithExtraKeysAcceptsOnlyThoseKeys(t *testing.T) {
	doc := []byte(`{"authorizedProcesses": ["nginx"], "overlays": {}, "overlay": {}}`)
	_, err := ParseWith(doc, "", ParseOptions{ExtraKeys: []string{"overlays"}})
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Path != "$.overlay" {
		t.Fatalf("ParseWith ExtraKeys [overlays]: %v, want one problem, the unknown key overlay", err)
	}
}
