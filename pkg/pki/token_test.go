package pki

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func TestNewToken(t *testing.T) {
	secret, hash, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	body, found := strings.CutPrefix(secret, "arc1.")
	if !found {
		t.Fatalf("secret %q lacks the arc1. prefix", secret)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(body); err != nil || len(raw) != 32 {
		t.Errorf("secret body decodes to %d bytes (%v), want 32", len(raw), err)
	}
	if b, err := hex.DecodeString(hash); err != nil || len(b) != 32 {
		t.Errorf("hash %q is not hex sha256", hash)
	}
	if strings.Contains(hash, body) || hash != HashToken(secret) {
		t.Errorf("hash %q is not HashToken(secret)", hash)
	}

	second, secondHash, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if second == secret || secondHash == hash {
		t.Error("two tokens are equal")
	}
}

func TestTokenMatches(t *testing.T) {
	secret, hash, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, secret, hash string
		want               bool
	}{
		{"same secret", secret, hash, true},
		{"pasted with a newline", secret + "\n", hash, true},
		{"uppercase hash", secret, strings.ToUpper(hash), true},
		{"other secret", other, hash, false},
		{"empty secret", "", hash, false},
		{"secret without prefix", strings.TrimPrefix(secret, "arc1."), hash, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := TokenMatches(tc.secret, tc.hash); got != tc.want {
				t.Errorf("TokenMatches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseFingerprint(t *testing.T) {
	hexDigits := strings.Repeat("0a", 32)
	for _, tc := range []struct {
		in, want string
	}{
		{"sha256:" + hexDigits, "sha256:" + hexDigits},
		{"  SHA256:" + strings.ToUpper(hexDigits) + "\n", "sha256:" + hexDigits},
		{hexDigits, ""},
		{"sha256:" + hexDigits[:62], ""},
		{"sha256:" + hexDigits + "00", ""},
		{"sha256:" + strings.Repeat("zz", 32), ""},
		{"sha1:" + hexDigits, ""},
		{"", ""},
	} {
		got, err := ParseFingerprint(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("ParseFingerprint(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
