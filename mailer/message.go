// Package mailer is Herald's email side: confirmation mails for the double
// opt-in, and digests of what matched a reader's topics, sent over SMTP.
package mailer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one email as Herald composes it.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
	// Unsubscribe is the https link for List-Unsubscribe (RFC 8058 one-click).
	Unsubscribe string
	// Sub is the subscriber it goes to, for logs and bounce counting.
	Sub string
}

// ErrHeader means a value would have broken out of its header.
var ErrHeader = errors.New("line break in an email header value")

// CheckAddress accepts one plain address (no display name, no line breaks).
func CheckAddress(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" || len(addr) > 254 || strings.ContainsAny(addr, "\r\n\x00<>,;\" ") {
		return "", fmt.Errorf("%q is not an email address", addr)
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr || !strings.Contains(addr[strings.LastIndexByte(addr, '@')+1:], ".") {
		return "", fmt.Errorf("%q is not an email address", addr)
	}
	return addr, nil
}

// build turns a Message into a go-mail message from the given sender.
func (m *Message) build(from string) (*gomail.Msg, error) {
	for _, v := range []string{m.To, m.Subject, m.Unsubscribe, from} {
		if strings.ContainsAny(v, "\r\n") {
			return nil, ErrHeader
		}
	}
	to, err := CheckAddress(m.To)
	if err != nil {
		return nil, err
	}
	msg := gomail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("sender %q: %w", from, err)
	}
	if err := msg.To(to); err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageIDWithValue(messageID(from))
	if m.Unsubscribe != "" {
		msg.SetGenHeader("List-Unsubscribe", "<"+m.Unsubscribe+">")
		msg.SetGenHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

func messageID(from string) string {
	domain := "herald.local"
	if a, err := mail.ParseAddress(from); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
			domain = a.Address[i+1:]
		}
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return strconv.FormatInt(time.Now().UnixNano(), 36) + "." + hex.EncodeToString(b[:]) + "@" + domain
}

// Transport hands messages to a mail server (or to the demo's outbox).
type Transport interface {
	// Send sends msgs in order over as few connections as it can and
	// returns one error per message (nil when the server accepted it).
	Send(ctx context.Context, msgs []*Message) []error
}

// SMTP sends through an SMTP relay named by a HERALD_SMTP_URL.
type SMTP struct {
	From   string
	client *gomail.Client
}

// NewSMTP returns a transport for smtp://user:pass@host:587 (STARTTLS
// required unless ?tls=none) or smtps://host:465.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("smtp url: %w", err)
	}
	opts := []gomail.Option{gomail.WithTimeout(30 * time.Second)}
	port := u.Port()
	switch u.Scheme {
	case "smtps":
		opts = append(opts, gomail.WithSSL())
		if port == "" {
			port = "465"
		}
	case "smtp":
		if u.Query().Get("tls") == "none" {
			opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		} else {
			opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
		}
		if port == "" {
			port = "587"
		}
	default:
		return nil, fmt.Errorf("smtp url: scheme %q is neither smtp nor smtps", u.Scheme)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("smtp url: port %q", port)
	}
	opts = append(opts, gomail.WithPort(p))
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	c, err := gomail.NewClient(u.Hostname(), opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp client: %w", err)
	}
	return &SMTP{From: from, client: c}, nil
}

// Send implements Transport: one connection for the whole batch.
func (s *SMTP) Send(ctx context.Context, msgs []*Message) []error {
	errs := make([]error, len(msgs))
	built := make([]*gomail.Msg, 0, len(msgs))
	index := make([]int, 0, len(msgs))
	for i, m := range msgs {
		gm, err := m.build(s.From)
		if err != nil {
			errs[i] = err
			continue
		}
		built = append(built, gm)
		index = append(index, i)
	}
	if len(built) == 0 {
		return errs
	}
	err := s.client.DialAndSendWithContext(ctx, built...)
	if err == nil {
		return errs
	}
	// go-mail marks each message that failed; anything not marked was
	// accepted. When dialing failed nothing was sent.
	var any bool
	for j, gm := range built {
		if gm.HasSendError() {
			errs[index[j]] = gm.SendError()
			any = true
		}
	}
	if !any {
		for _, i := range index {
			errs[i] = err
		}
	}
	return errs
}

// WriteEML writes a message as it would be sent (for the demo's outbox).
func WriteEML(w io.Writer, m *Message, from string) error {
	gm, err := m.build(from)
	if err != nil {
		return err
	}
	_, err = gm.WriteTo(w)
	return err
}

// IsTemporary reports whether a send error is worth retrying (4xx, or the
// server could not be reached) rather than a bounce (5xx).
func IsTemporary(err error) bool {
	if err == nil {
		return false
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		if se.IsTemp() {
			return true
		}
		if code := se.ErrorCode(); code >= 500 && code < 600 {
			return false
		}
	}
	return !errors.Is(err, ErrHeader)
}
