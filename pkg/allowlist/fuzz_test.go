package allowlist

import (
	"errors"
	"testing"
)

// FuzzParse checks that no input panics Parse, and that Parse returns either
// an allowlist or a *ValidationError with at least one positioned problem.
// The seeds also run under plain `go test`.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		manyProblems,
		`{"authorizedProcesses": ["nginx", {"name": "node", "exe": "/usr/bin/*", "user": "app"}]}`,
		`{"authorizedServices": ["nginx", "getty@.service"], "allowedDockerImages": ["redis:7"]}`,
		`{"allowedDockerImages": ["sha256:` + string(make([]byte, 64)) + `"]}`,
		`{"pm2Ecosystem": "x.mjs"}`,
		`{"authorizedProcesses": [{"sha256": "sha256:ABC"}]}`,
		"{\"a\": \"\\ud800\"}",
		"\xef\xbb\xbf{}",
		`[[[[[[[[[[`,
		`{"authorizedProcesses": [{"exe": "/[\\"}]}`,
		"",
		"nul\x00l",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Parse(data, "")
		if err == nil {
			if a == nil {
				t.Fatal("nil allowlist without error")
			}
			a.MatchProcess(ProcessFacts{Comm: "x", Exe: "/usr/bin/x", Argv0: "x"})
			a.MatchService("x.service")
			a.MatchImage("x:1")
			return
		}
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Problems) == 0 || a != nil {
			t.Fatalf("want nil and a *ValidationError with problems, got %v, %v", a, err)
		}
		for _, p := range ve.Problems {
			if p.Line < 1 || p.Column < 1 || p.Path == "" || p.Message == "" {
				t.Fatalf("problem without position or text: %+v", p)
			}
		}
		_ = err.Error()
	})
}
