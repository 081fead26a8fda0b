package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

func TestConsumeToken(t *testing.T) {
	exp := t0.Add(time.Hour)
	tests := []struct {
		name     string
		token    Token
		hash     string
		hostname string
		now      time.Time
		reason   string // "" means the token is accepted
	}{
		{"unbound token enrolls any host", Token{Hash: "h", ExpiresAt: exp}, "h", "web-1", t0, ""},
		{"bound token enrolls its host", Token{Hash: "h", Hostname: "web-1", ExpiresAt: exp}, "h", "web-1", t0, ""},
		{"bound token refuses another host", Token{Hash: "h", Hostname: "web-1", ExpiresAt: exp},
			"h", "web-2", t0, "bound to host name"},
		{"unknown hash", Token{Hash: "h", ExpiresAt: exp}, "other", "web-1", t0, "unknown token"},
		{"expired a second ago", Token{Hash: "h", ExpiresAt: exp}, "h", "web-1", exp.Add(time.Second), "expired"},
		{"expired at this instant", Token{Hash: "h", ExpiresAt: exp}, "h", "web-1", exp, "expired"},
		{"valid a nanosecond before expiry", Token{Hash: "h", ExpiresAt: exp}, "h", "web-1", exp.Add(-1), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			b, _ := openTestStore(t)
			tt.token.CreatedBy = "admin"
			mustDo(t, b.PutToken(ctx, tt.token))

			got, err := b.ConsumeToken(ctx, tt.hash, tt.hostname, tt.now)
			if tt.reason != "" {
				if !errors.Is(err, ErrTokenInvalid) || !strings.Contains(err.Error(), tt.reason) {
					t.Fatalf("error = %v, want ErrTokenInvalid saying %q", err, tt.reason)
				}
				return
			}
			mustDo(t, err)
			if !got.UsedAt.Equal(tt.now) || got.UsedBy != tt.hostname || got.CreatedBy != "admin" ||
				!got.ExpiresAt.Equal(exp) {
				t.Errorf("consumed token = %+v, want used by %s at %v", got, tt.hostname, tt.now)
			}

			_, err = b.ConsumeToken(ctx, tt.hash, tt.hostname, tt.now)
			if !errors.Is(err, ErrTokenInvalid) || !strings.Contains(err.Error(), "already used by "+tt.hostname) {
				t.Errorf("second use: error = %v, want ErrTokenInvalid saying already used", err)
			}
		})
	}
}

func TestRefusedTokenStaysUsable(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)
	mustDo(t, b.PutToken(ctx, Token{Hash: "h", Hostname: "web-1", ExpiresAt: t0.Add(time.Hour)}))

	if _, err := b.ConsumeToken(ctx, "h", "web-2", t0); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("wrong host: error = %v, want ErrTokenInvalid", err)
	}
	if _, err := b.ConsumeToken(ctx, "h", "web-1", t0); err != nil {
		t.Fatalf("right host after a refused attempt: %v", err)
	}
}

func TestConcurrentConsumeTokenExactlyOneWins(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)
	mustDo(t, b.PutToken(ctx, Token{Hash: "h", ExpiresAt: t0.Add(time.Hour)}))

	const n = 20
	type outcome struct {
		host string
		tok  Token
		err  error
	}
	out := make(chan outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		host := fmt.Sprintf("web-%d", i)
		wg.Go(func() {
			tok, err := b.ConsumeToken(ctx, "h", host, t0)
			out <- outcome{host, tok, err}
		})
	}
	wg.Wait()
	close(out)

	var winners []outcome
	for o := range out {
		switch {
		case o.err == nil:
			winners = append(winners, o)
		case !errors.Is(o.err, ErrTokenInvalid) || !strings.Contains(o.err.Error(), "already used"):
			t.Errorf("%s: error = %v, want ErrTokenInvalid saying already used", o.host, o.err)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%d goroutines consumed the token, want exactly 1", len(winners))
	}
	if winners[0].tok.UsedBy != winners[0].host {
		t.Errorf("winner %s got a token used by %q", winners[0].host, winners[0].tok.UsedBy)
	}
}

func TestPutTokenRejects(t *testing.T) {
	ctx := t.Context()
	b, _ := openTestStore(t)
	mustDo(t, b.PutToken(ctx, Token{Hash: "h", ExpiresAt: t0.Add(time.Hour)}))

	tests := map[string]Token{
		"a stored hash": {Hash: "h", ExpiresAt: t0.Add(2 * time.Hour)},
		"no expiry":     {Hash: "new"},
		"no hash":       {ExpiresAt: t0.Add(time.Hour)},
	}
	for name, tok := range tests {
		if err := b.PutToken(ctx, tok); err == nil {
			t.Errorf("PutToken with %s succeeded", name)
		}
	}
}

func TestTokenCodecRoundTripAndSkipsUnknownFields(t *testing.T) {
	full := Token{Hash: "abc", Hostname: "web-1", ExpiresAt: t0.Add(time.Hour), CreatedBy: "admin",
		UsedAt: t0.Add(time.Minute), UsedBy: "web-1"}

	for _, tok := range []Token{full, {Hash: "only-hash", ExpiresAt: t0}} {
		data := encodeToken(tok)
		// A field a newer controller added must not break this reader.
		data = protowire.AppendTag(data, 99, protowire.BytesType)
		data = protowire.AppendString(data, "from the future")
		data = protowire.AppendTag(data, 98, protowire.VarintType)
		data = protowire.AppendVarint(data, 7)

		got, err := decodeToken(data)
		mustDo(t, err)
		if got.Hash != tok.Hash || got.Hostname != tok.Hostname || !got.ExpiresAt.Equal(tok.ExpiresAt) ||
			got.CreatedBy != tok.CreatedBy || !got.UsedAt.Equal(tok.UsedAt) || got.UsedBy != tok.UsedBy {
			t.Errorf("decode(encode(%+v)) = %+v", tok, got)
		}
		if tok.UsedAt.IsZero() && !got.UsedAt.IsZero() {
			t.Errorf("unused token decoded with UsedAt %v", got.UsedAt)
		}
	}

	if _, err := decodeToken([]byte{0x0a, 0x05, 'a'}); err == nil {
		t.Error("decode of a truncated token succeeded")
	}
}
