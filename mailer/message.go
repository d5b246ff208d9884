// Package mailer is Herald's email side: confirmation mails for the double
// opt-in, and digests of what matched a reader's topics, sent over SMTP.
package mailer

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/emersion/go-msgauth/dkim"
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
	// ListID, on digests, is the List-Id header's value (RFC 2919), by
	// which mail clients and providers tell the list's mail apart.
	ListID string
	// Sub is the subscriber it goes to, for logs and bounce counting.
	Sub string
}

var (
	// ErrHeader means a value would have broken out of its header.
	ErrHeader = errors.New("line break in an email header value")
	// ErrCompose means a message could not be made (a bad address, say);
	// sending it again would fail the same way.
	ErrCompose = errors.New("cannot compose email")
)

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

// headerText makes a one-line header value out of text that came from
// outside (a topic, a title): control characters become spaces, so nothing
// can start a new header line however it was written.
func headerText(s string) string {
	return strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)), " ")
}

// DKIMSignedHeaders are the fields the DKIM signature covers. The
// List-Unsubscribe pair is in it because Gmail and Yahoo only honour a
// one-click unsubscribe that the signature vouches for.
var DKIMSignedHeaders = []string{"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
	"List-Unsubscribe", "List-Unsubscribe-Post", "List-Id"}

// NewDKIM reads a PEM key (RSA or Ed25519) and returns signing options
// for domain and selector covering DKIMSignedHeaders. Signing is
// go-msgauth's: go-mail v0.8.1's own DKIM signer produced signatures that
// go-msgauth could not verify once a folded header (Content-Type) was
// covered, so the verifier's library does the signing as well.
func NewDKIM(domain, selector, keyFile string) (*dkim.SignOptions, error) {
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("read dkim key: %w", err)
	}
	key, err := gomail.PrivKeyFromPEM(pem)
	if err != nil {
		return nil, fmt.Errorf("dkim key %s: %w", keyFile, err)
	}
	return &dkim.SignOptions{Domain: domain, Selector: selector, Signer: key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
		HeaderKeys: DKIMSignedHeaders}, nil
}

// sign adds a DKIM-Signature to gm. go-mail renders a message the same way
// every time once its boundaries are chosen, so the signature computed over
// one rendering holds for the one sent.
func sign(gm *gomail.Msg, opts *dkim.SignOptions) error {
	var raw bytes.Buffer
	if _, err := gm.WriteTo(&raw); err != nil {
		return err
	}
	var out bytes.Buffer
	if err := dkim.Sign(&out, bytes.NewReader(raw.Bytes()), opts); err != nil {
		return fmt.Errorf("dkim sign: %w", err)
	}
	field := strings.TrimRight(string(out.Bytes()[:out.Len()-raw.Len()]), "\r\n")
	value, ok := strings.CutPrefix(field, "DKIM-Signature: ")
	if !ok {
		return errors.New("dkim sign: unexpected signature field")
	}
	gm.SetGenHeaderPreformatted("DKIM-Signature", value)
	return nil
}

// build turns a Message into a go-mail message from the given sender,
// signed when dkim is set.
func (m *Message) build(from string, dkimOpts *dkim.SignOptions) (*gomail.Msg, error) {
	for _, v := range []string{m.To, m.Subject, m.Unsubscribe, m.ListID, from} {
		if strings.ContainsAny(v, "\r\n") {
			return nil, ErrHeader
		}
	}
	to, err := CheckAddress(m.To)
	if err != nil {
		return nil, err
	}
	// No User-Agent or X-Mailer: naming the library and its version tells
	// filters and attackers more than it helps anyone.
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("sender %q: %w", from, err)
	}
	if err := msg.To(to); err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	msg.SetGenHeaderPreformatted(gomail.HeaderSubject, encodeSubject(headerText(m.Subject)))
	msg.SetDate()
	msg.SetMessageIDWithValue(messageID(from))
	if m.Unsubscribe != "" {
		if u, err := url.Parse(m.Unsubscribe); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
			return nil, fmt.Errorf("unsubscribe link %q is not an http(s) URL", m.Unsubscribe)
		}
		msg.SetGenHeader("List-Unsubscribe", "<"+m.Unsubscribe+">")
		msg.SetGenHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	}
	if m.ListID != "" {
		msg.SetGenHeader("List-Id", m.ListID)
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	if dkimOpts != nil {
		if err := sign(msg, dkimOpts); err != nil {
			return nil, err
		}
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

// WriteEML writes a message as it would be sent (for the demo's outbox).
func WriteEML(w io.Writer, m *Message, from string) error {
	gm, err := m.build(from, nil)
	if err != nil {
		return err
	}
	_, err = gm.WriteTo(w)
	return err
}
