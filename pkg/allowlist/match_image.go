package allowlist

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// imageRule is one parsed allowedDockerImages entry.
type imageRule struct {
	index  int
	raw    string
	name   string // normalized repository, "docker.io/library/postgres"; "" for an image ID
	tag    string // "" when the entry names no tag
	digest string // "sha256:…" when the entry names a digest or is an image ID
}

// key identifies entries that allow the same images, for duplicate checks.
func (r imageRule) key() string {
	s := r.name
	if r.tag != "" {
		s += ":" + r.tag
	}
	if r.digest != "" {
		if s != "" {
			s += "@"
		}
		s += r.digest
	}
	return s
}

// imageID returns the digest when s is a full image ID ("sha256:<64 hex>" or
// 64 hex digits), and "" otherwise.
func imageID(s string) string {
	h := strings.TrimPrefix(s, "sha256:")
	if len(h) == 64 && strings.Trim(h, "0123456789abcdef") == "" {
		return "sha256:" + h
	}
	return ""
}

// isShortID reports whether s is an abbreviated "sha256:" image ID. An
// unprefixed short hex string is also a valid repository name, so it is
// treated as a name.
func isShortID(s string) bool {
	h, ok := strings.CutPrefix(s, "sha256:")
	return ok && len(h) < 64 && strings.Trim(h, "0123456789abcdef") == ""
}

// parseImageRule parses an allowedDockerImages entry.
func parseImageRule(s string) (imageRule, error) {
	if id := imageID(s); id != "" {
		return imageRule{raw: s, digest: id}, nil
	}
	if strings.HasPrefix(s, "sha256:") {
		return imageRule{}, fmt.Errorf("image %q is not a full image ID; write "+
			"sha256: and all 64 hex digits, or use a name like \"postgres\"", s)
	}

	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return imageRule{}, fmt.Errorf("image %q is not a valid image reference (%v); "+
			`write it like "postgres", "redis:7" or "ghcr.io/acme/api@sha256:<64 hex>"`, s, err)
	}
	r := imageRule{raw: s, name: named.Name()}
	if t, ok := named.(reference.Tagged); ok {
		r.tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		r.digest = d.Digest().String()
	}
	return r, nil
}

// MatchImage reports whether a container image reference is allowed by
// allowedDockerImages and why. Names are compared after normalization
// ("postgres" is docker.io/library/postgres), so "postgres" allows
// "postgres:16" and "library/postgres@sha256:…" but not "evil/postgres".
// An entry with a tag allows only that tag (a reference without tag or
// digest means :latest); an entry with a digest allows only that digest. An
// image given as a bare ID (sha256:…) has no name, so only an entry with that
// same digest can allow it.
func (a *Allowlist) MatchImage(ref string) (bool, string) {
	if a == nil {
		return false, "no allowlist"
	}
	if ref == "" {
		return false, "empty image reference"
	}

	if id := imageID(ref); id != "" {
		for _, r := range a.images {
			if r.digest == id {
				return true, fmt.Sprintf("matches %s[%d] %q by digest", keyImages, r.index, r.raw)
			}
		}
		return false, "image ID " + shortDigest(id) + " has no name; only an entry with " +
			"that digest can allow it, and none has"
	}
	if isShortID(ref) {
		return false, fmt.Sprintf("image %q is a short image ID; it cannot be matched", ref)
	}

	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return false, fmt.Sprintf("image %q is not a valid reference: %v", ref, err)
	}
	tag, digest := "", ""
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		digest = d.Digest().String()
	}

	nearMiss := ""
	for _, r := range a.images {
		if r.name != named.Name() {
			continue
		}
		ok, why := r.matchVersion(tag, digest)
		if ok {
			return true, fmt.Sprintf("matches %s[%d] %q %s", keyImages, r.index, r.raw, why)
		}
		if nearMiss == "" {
			nearMiss = fmt.Sprintf("%s required by %s[%d] %q", why, keyImages, r.index, r.raw)
		}
	}
	if nearMiss != "" {
		return false, nearMiss
	}
	return false, fmt.Sprintf("%s not in %s", reference.FamiliarName(named), keyImages)
}

// matchVersion compares the tag and digest of a reference whose name equals
// the rule's.
func (r imageRule) matchVersion(tag, digest string) (bool, string) {
	switch {
	case r.digest != "":
		if digest == r.digest {
			return true, "by digest"
		}
		if digest == "" {
			return false, "no digest in the reference; digest " + shortDigest(r.digest)
		}
		return false, "digest " + shortDigest(digest) + " is not " + shortDigest(r.digest)
	case r.tag != "":
		if tag == "" && digest == "" {
			tag = "latest"
		}
		if tag == r.tag {
			return true, "by tag"
		}
		if tag == "" {
			return false, "a digest-only reference cannot show tag " + r.tag
		}
		return false, "tag " + tag + " is not " + r.tag
	default:
		return true, "by name"
	}
}

func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12] + "…"
	}
	return d
}
