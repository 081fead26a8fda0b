package store

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// Token has no generated message (the protocol never carries it), so it is
// stored in the protobuf wire format written field by field with protowire.
// Field numbers are the stored schema: never reuse or renumber them.
// Unknown fields are skipped, so a newer field does not break an older
// reader. Times are Unix nanoseconds; a zero time is an absent field.
const (
	tokenFieldHash      protowire.Number = 1
	tokenFieldHostname  protowire.Number = 2
	tokenFieldExpiresAt protowire.Number = 3
	tokenFieldCreatedBy protowire.Number = 4
	tokenFieldUsedAt    protowire.Number = 5
	tokenFieldUsedBy    protowire.Number = 6
)

func encodeToken(t Token) []byte {
	var b []byte
	appendString := func(n protowire.Number, s string) {
		if s != "" {
			b = protowire.AppendTag(b, n, protowire.BytesType)
			b = protowire.AppendString(b, s)
		}
	}
	appendTime := func(n protowire.Number, at time.Time) {
		if !at.IsZero() {
			b = protowire.AppendTag(b, n, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(at.UnixNano()))
		}
	}

	appendString(tokenFieldHash, t.Hash)
	appendString(tokenFieldHostname, t.Hostname)
	appendTime(tokenFieldExpiresAt, t.ExpiresAt)
	appendString(tokenFieldCreatedBy, t.CreatedBy)
	appendTime(tokenFieldUsedAt, t.UsedAt)
	appendString(tokenFieldUsedBy, t.UsedBy)
	return b
}

func decodeToken(b []byte) (Token, error) {
	var t Token
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return Token{}, fmt.Errorf("decode token: %w", protowire.ParseError(n))
		}
		b = b[n:]

		switch typ {
		case protowire.BytesType:
			s, n := protowire.ConsumeString(b)
			if n < 0 {
				return Token{}, fmt.Errorf("decode token field %d: %w", num, protowire.ParseError(n))
			}
			b = b[n:]
			switch num {
			case tokenFieldHash:
				t.Hash = s
			case tokenFieldHostname:
				t.Hostname = s
			case tokenFieldCreatedBy:
				t.CreatedBy = s
			case tokenFieldUsedBy:
				t.UsedBy = s
			}

		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return Token{}, fmt.Errorf("decode token field %d: %w", num, protowire.ParseError(n))
			}
			b = b[n:]
			switch num {
			case tokenFieldExpiresAt:
				t.ExpiresAt = time.Unix(0, int64(v)).UTC()
			case tokenFieldUsedAt:
				t.UsedAt = time.Unix(0, int64(v)).UTC()
			}

		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return Token{}, fmt.Errorf("decode token field %d: %w", num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	return t, nil
}
