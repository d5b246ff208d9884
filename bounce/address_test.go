package bounce_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/bounce"
)

func TestAddressRoundTrip(t *testing.T) {
	s := bounce.NewSigner([]byte("secret"), "Bounces.Example.org")
	sent := time.Date(2030, 3, 11, 12, 0, 0, 0, time.UTC)
	for _, reader := range []string{"mail:0123456789abcdef01", "tg:-100123", "mail:short"} {
		t.Run(reader, func(t *testing.T) {
			addr, err := s.Address(reader, sent)
			if err != nil {
				t.Fatal(err)
			}
			local, domain, _ := strings.Cut(addr, "@")
			if domain != "bounces.example.org" || !strings.HasPrefix(local, "b+") || len(local) > 64 {
				t.Fatalf("address %q: want b+<token>@bounces.example.org with a local part of at most 64 octets", addr)
			}
			if strings.ToLower(addr) != addr {
				t.Fatalf("address %q is not lower-case", addr)
			}
			// MTAs may change the case of either part.
			for _, a := range []string{addr, strings.ToUpper(addr), "<" + addr + ">"} {
				ref, err := s.Verify(a, sent.Add(5*24*time.Hour))
				if err != nil {
					t.Fatalf("Verify(%q): %v", a, err)
				}
				if ref.Reader != reader || !ref.Sent.Equal(sent) || len(ref.Message) != 12 {
					t.Fatalf("Verify(%q) = %+v; want reader %s sent %v and a message id", a, ref, reader, sent)
				}
			}
		})
	}
	a1, _ := s.Address("mail:0123456789abcdef01", sent)
	a2, _ := s.Address("mail:0123456789abcdef01", sent)
	r1, _ := s.Verify(a1, sent)
	r2, _ := s.Verify(a2, sent)
	if a1 == a2 || r1.Message == r2.Message {
		t.Fatalf("two emails in the same second share an address or message id: %s, %s", a1, a2)
	}
}

func TestVerifyRefuses(t *testing.T) {
	s := bounce.NewSigner([]byte("secret"), "bounces.example.org")
	sent := time.Date(2030, 3, 11, 12, 0, 0, 0, time.UTC)
	good, _ := s.Address("mail:0123456789abcdef01", sent)
	local, _, _ := strings.Cut(good, "@")
	tok := strings.TrimPrefix(local, "b+")
	flip := func(s string, i int) string {
		c := byte('a')
		if s[i] == 'a' {
			c = 'b'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	// A token of 26 bytes has two unused bits in its last character:
	// setting the lowest spells the same bytes another way.
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	last := strings.IndexByte(alphabet, tok[len(tok)-1])
	respelt := tok[:len(tok)-1] + string(alphabet[last^1])
	other, _ := bounce.NewSigner([]byte("another secret"), "bounces.example.org").Address("mail:0123456789abcdef01", sent)
	elsewhere, _ := bounce.NewSigner([]byte("secret"), "other.example.org").Address("mail:0123456789abcdef01", sent)
	cases := []struct {
		name, addr string
		now        time.Time
		want       error
	}{
		{"another domain", local + "@example.org", sent, bounce.ErrNotOurs},
		{"no b+ prefix", tok + "@bounces.example.org", sent, bounce.ErrNotOurs},
		{"postmaster", "postmaster@bounces.example.org", sent, bounce.ErrNotOurs},
		{"no at sign", local, sent, bounce.ErrNotOurs},
		{"tampered first byte", "b+" + flip(tok, 0) + "@bounces.example.org", sent, bounce.ErrBadToken},
		{"tampered last byte", "b+" + flip(tok, len(tok)-1) + "@bounces.example.org", sent, bounce.ErrBadToken},
		{"another spelling of the same token", "b+" + respelt + "@bounces.example.org", sent, bounce.ErrBadToken},
		{"truncated", "b+" + tok[:len(tok)-4] + "@bounces.example.org", sent, bounce.ErrBadToken},
		{"not base32", "b+" + tok[:10] + "!!" + tok[12:] + "@bounces.example.org", sent, bounce.ErrBadToken},
		{"empty token", "b+@bounces.example.org", sent, bounce.ErrBadToken},
		{"another secret", other, sent, bounce.ErrBadToken},
		{"token of another domain moved here", strings.Split(elsewhere, "@")[0] + "@bounces.example.org", sent, bounce.ErrBadToken},
		{"too old", good, sent.Add(bounce.MaxAge + time.Hour), bounce.ErrExpired},
		{"from the future", good, sent.Add(-2 * time.Hour), bounce.ErrExpired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := s.Verify(c.addr, c.now); !errors.Is(err, c.want) {
				t.Fatalf("Verify(%q) = %v, want %v", c.addr, err, c.want)
			}
		})
	}
	if _, err := s.Address("tg:this-id-is-far-too-long-for-a-token", sent); err == nil {
		t.Fatal("an id too long for a 64-octet local part was given an address")
	}
}
