package pki

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// tokenPrefix marks an enrollment token and its format version.
const tokenPrefix = "arc1."

// NewToken returns a new enrollment token: the secret ("arc1." and 32 random
// bytes in base64url) to show the operator once, and its hash, the only form
// the controller stores.
func NewToken() (secret, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("read random bytes for enrollment token: %w", err)
	}
	secret = tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, HashToken(secret), nil
}

// HashToken returns the hex sha256 of a token secret, with surrounding white
// space (a pasted newline) removed first.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(secret)))
	return hex.EncodeToString(sum[:])
}

// TokenMatches reports in constant time whether secret hashes to hash. A
// store that looks tokens up by hash does not need it.
func TokenMatches(secret, hash string) bool {
	return subtle.ConstantTimeCompare([]byte(HashToken(secret)), []byte(strings.ToLower(hash))) == 1
}
