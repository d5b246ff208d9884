// Package bounce reads what mail servers send back about Herald's emails:
// delivery status notifications (RFC 3464) and complaint reports (RFC 5965
// ARF). Each email leaves with an envelope sender of its own (VERP,
// b+<token>@HERALD_BOUNCE_DOMAIN) whose signed token names the reader and
// the message, so a report names its reader however the remote server
// words it. Server listens for those reports over SMTP, refuses anything
// else, and hands each one to a Recorder (the mailer), which decides what
// it means for the reader.
package bounce

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MaxAge is how old a message may be for a report about it to count: MTAs
// give up on a message within days (Postfix: 5), and complaints come in
// within weeks.
const MaxAge = 60 * 24 * time.Hour

// Errors of Verify; the server answers each with a 5xx.
var (
	ErrNotOurs  = errors.New("not an address at the bounce domain")
	ErrBadToken = errors.New("bounce address token does not verify")
	ErrExpired  = errors.New("bounce address token is too old")
)

// Ref is what a bounce address names: the reader an email went to and the
// message.
type Ref struct {
	Reader string
	// Message identifies the email among those to the reader (hex); a
	// report repeated by a mail server names the same one.
	Message string
	// Sent is when the email was sent, to the second.
	Sent time.Time
}

// The token is lower-case base32 without padding: mail servers may fold
// the local part's case, and base32 survives that.
var enc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

const (
	macLen = 10 // 80 bits of HMAC-SHA256: forging one takes 2^80 tries
	msgLen = 6  // 4 bytes of send time, 2 random
	// The forms of the reader id in a token: an email reader's
	// "mail:<18 hex digits>" in 9 bytes, or any other id as its bytes.
	formMail  = 1
	formOther = 2
	// maxOther keeps the local part under RFC 5321's 64 octets.
	maxOther = 20
)

// Signer makes and checks bounce addresses at one domain.
type Signer struct {
	key    []byte
	domain string
}

// NewSigner returns a Signer for domain whose tokens are keyed by secret
// (HERALD_SECRET; a key of its own is derived, so a bounce token can never
// pass for a signed link).
func NewSigner(secret []byte, domain string) *Signer {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("herald bounce address v1"))
	return &Signer{key: h.Sum(nil), domain: strings.ToLower(strings.TrimSuffix(domain, "."))}
}

// Domain is the bounce domain, lower-case.
func (s *Signer) Domain() string { return s.domain }

// Address returns the envelope sender for an email to reader sent at sent:
// b+<token>@domain.
func (s *Signer) Address(reader string, sent time.Time) (string, error) {
	var b []byte
	if raw, ok := mailID(reader); ok {
		b = append([]byte{formMail}, raw...)
	} else {
		if reader == "" || len(reader) > maxOther {
			return "", fmt.Errorf("bounce address: reader id %q does not fit in a token", reader)
		}
		b = append([]byte{formOther, byte(len(reader))}, reader...)
	}
	var msg [msgLen]byte
	binary.BigEndian.PutUint32(msg[:4], uint32(sent.Unix()))
	_, _ = rand.Read(msg[4:])
	b = append(b, msg[:]...)
	b = append(b, s.mac(b)...)
	return "b+" + enc.EncodeToString(b) + "@" + s.domain, nil
}

func (s *Signer) mac(b []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(s.domain))
	h.Write([]byte{0})
	h.Write(b)
	return h.Sum(nil)[:macLen]
}

// Verify checks a recipient address from a report's RCPT TO and returns
// what it names; now bounds its age (MaxAge).
func (s *Signer) Verify(addr string, now time.Time) (Ref, error) {
	addr = strings.ToLower(strings.Trim(strings.TrimSpace(addr), "<>"))
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || strings.TrimSuffix(addr[at+1:], ".") != s.domain {
		return Ref{}, ErrNotOurs
	}
	tok, ok := strings.CutPrefix(addr[:at], "b+")
	if !ok {
		return Ref{}, ErrNotOurs
	}
	b, err := enc.DecodeString(tok)
	// The last character's unused bits must be zero, so that no two
	// spellings pass for one token.
	if err != nil || len(b) < 1+msgLen+macLen || enc.EncodeToString(b) != tok {
		return Ref{}, ErrBadToken
	}
	body, sum := b[:len(b)-macLen], b[len(b)-macLen:]
	if !hmac.Equal(sum, s.mac(body)) {
		return Ref{}, ErrBadToken
	}
	var reader string
	rest := body[1:]
	switch body[0] {
	case formMail:
		if len(rest) != 9+msgLen {
			return Ref{}, ErrBadToken
		}
		reader, rest = "mail:"+hex.EncodeToString(rest[:9]), rest[9:]
	case formOther:
		if len(rest) < 1 || len(rest) != 1+int(rest[0])+msgLen {
			return Ref{}, ErrBadToken
		}
		reader, rest = string(rest[1:1+int(rest[0])]), rest[1+int(rest[0]):]
	default:
		return Ref{}, ErrBadToken
	}
	sent := time.Unix(int64(binary.BigEndian.Uint32(rest[:4])), 0)
	// An hour of slack for clocks that disagree between processes.
	if now.Sub(sent) > MaxAge || sent.Sub(now) > time.Hour {
		return Ref{}, ErrExpired
	}
	return Ref{Reader: reader, Message: hex.EncodeToString(rest), Sent: sent}, nil
}

// mailID returns the 9 bytes of an email reader's id "mail:<18 hex>".
func mailID(id string) ([]byte, bool) {
	h, ok := strings.CutPrefix(id, "mail:")
	if !ok || len(h) != 18 || strings.ToLower(h) != h {
		return nil, false
	}
	raw, err := hex.DecodeString(h)
	return raw, err == nil
}
