package allowlist

import (
	"strings"
	"testing"
)

var (
	digestA = "sha256:" + strings.Repeat("a", 64)
	digestB = "sha256:" + strings.Repeat("b", 64)
)

func TestMatchImage(t *testing.T) {
	a := mustParse(t, `{"allowedDockerImages": [
		"postgres", "redis:7", "ghcr.io/acme/api", "nats@`+digestA+`", "`+digestB+`", "busybox:latest"]}`)
	tests := []struct {
		name   string
		ref    string
		ok     bool
		reason string
	}{
		{"name allows a tag", "postgres:16", true, `matches allowedDockerImages[0] "postgres" by name`},
		{"name allows the bare name", "postgres", true, `matches allowedDockerImages[0] "postgres" by name`},
		{"name allows a normalized digest", "docker.io/library/postgres@" + digestA, true,
			`matches allowedDockerImages[0] "postgres" by name`},
		{"name allows library/", "library/postgres:latest", true,
			`matches allowedDockerImages[0] "postgres" by name`},
		{"no prefix match", "postgres-exporter", false, "postgres-exporter not in allowedDockerImages"},
		{"other namespace", "evil/postgres", false, "evil/postgres not in allowedDockerImages"},
		{"other registry", "ghcr.io/x/postgres", false, "ghcr.io/x/postgres not in allowedDockerImages"},
		{"tag entry allows its tag", "redis:7", true, `matches allowedDockerImages[1] "redis:7" by tag`},
		{"tag entry refuses another tag", "redis:6", false,
			`tag 6 is not 7 required by allowedDockerImages[1] "redis:7"`},
		{"tag entry refuses implicit latest", "redis", false,
			`tag latest is not 7 required by allowedDockerImages[1] "redis:7"`},
		{"tag entry refuses a digest-only reference", "redis@" + digestA, false,
			`a digest-only reference cannot show tag 7 required by allowedDockerImages[1] "redis:7"`},
		{"tag entry accepts tag plus digest", "redis:7@" + digestA, true,
			`matches allowedDockerImages[1] "redis:7" by tag`},
		{"latest entry allows the bare name", "busybox", true,
			`matches allowedDockerImages[5] "busybox:latest" by tag`},
		{"other registry entry", "ghcr.io/acme/api:v2", true,
			`matches allowedDockerImages[2] "ghcr.io/acme/api" by name`},
		{"other registry entry does not match docker hub", "acme/api", false, "acme/api not in allowedDockerImages"},
		{"digest entry allows its digest", "nats@" + digestA, true,
			`matches allowedDockerImages[3] "nats@` + digestA + `" by digest`},
		{"digest entry refuses another digest", "nats@" + digestB, false,
			`digest sha256:bbbbbbbbbbbb… is not sha256:aaaaaaaaaaaa… required by allowedDockerImages[3] "nats@` + digestA + `"`},
		{"digest entry refuses a tag", "nats:2", false,
			`no digest in the reference; digest sha256:aaaaaaaaaaaa… required by allowedDockerImages[3] "nats@` + digestA + `"`},
		{"bare ID matches a digest entry", digestB, true, `matches allowedDockerImages[4] "` + digestB + `" by digest`},
		{"bare ID matches a named digest entry", digestA, true,
			`matches allowedDockerImages[3] "nats@` + digestA + `" by digest`},
		{"bare ID never matches a name entry", "sha256:" + strings.Repeat("c", 64), false,
			"image ID sha256:cccccccccccc… has no name; only an entry with that digest can allow it, and none has"},
		{"short ID", "sha256:abcdef012345", false, `image "sha256:abcdef012345" is a short image ID; it cannot be matched`},
		{"invalid reference", "Postgres", false,
			`image "Postgres" is not a valid reference: invalid reference format: repository name (library/Postgres) must be lowercase`},
		{"empty", "", false, "empty image reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, reason := a.MatchImage(tt.ref)
			if ok != tt.ok || reason != tt.reason {
				t.Errorf("MatchImage(%q) = %v, %q\n                   want %v, %q", tt.ref, ok, reason, tt.ok, tt.reason)
			}
		})
	}
}
