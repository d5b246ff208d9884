package token

import (
	"errors"
	"testing"
	"time"
)

func TestToken(t *testing.T) {
	secret := []byte("s3cret")
	now := time.Unix(1_800_000_000, 0)
	tok := Sign(secret, Confirm, "mail:abc", now.Add(time.Hour))

	if sub, err := Verify(secret, Confirm, tok, now); err != nil || sub != "mail:abc" {
		t.Fatalf("Verify = %q, %v; want mail:abc", sub, err)
	}
	cases := []struct {
		name    string
		secret  string
		purpose string
		tok     string
		now     time.Time
		want    error
	}{
		{"other purpose", "s3cret", Unsubscribe, tok, now, ErrInvalid},
		{"other secret", "other", Confirm, tok, now, ErrInvalid},
		{"expired", "s3cret", Confirm, tok, now.Add(2 * time.Hour), ErrExpired},
		{"tampered payload", "s3cret", Confirm, "X" + tok[1:], now, ErrInvalid},
		{"tampered signature", "s3cret", Confirm, tok[:len(tok)-2] + "AA", now, ErrInvalid},
		{"garbage", "s3cret", Confirm, "not-a-token", now, ErrInvalid},
		{"empty", "s3cret", Confirm, "", now, ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Verify([]byte(c.secret), c.purpose, c.tok, c.now)
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify error = %v; want %v", err, c.want)
			}
		})
	}
}
