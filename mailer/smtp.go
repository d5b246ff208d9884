package mailer

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-msgauth/dkim"
	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"

	"github.com/herald-news/herald/bounce"
)

// Transport hands messages to a mail server (or to the demo's outbox).
type Transport interface {
	// Send sends msgs in order over as few connections as it can and
	// returns one error per message (nil when the server accepted it).
	Send(ctx context.Context, msgs []*Message) []error
}

// connector is a Transport that can keep one connection open while the
// mailer decides about each message in turn: the mailer then clears a
// digest's items right after the server accepted it, before the next one.
type connector interface {
	Open(ctx context.Context) (Conn, error)
}

// Conn is one open connection to a mail server.
type Conn interface {
	Send(ctx context.Context, m *Message) error
	Close() error
}

// SMTP sends through an SMTP relay named by a HERALD_SMTP_URL.
type SMTP struct {
	From string
	// DKIM, when set, signs every message.
	DKIM *dkim.SignOptions
	// PerConnection caps how many messages go over one connection before
	// it is replaced (0: no cap). 1 means a connection per message, which
	// the benchmark compares against.
	PerConnection int
	// HELO is the name given in EHLO (HERALD_SMTP_HELO); empty leaves
	// go-mail's default, the host name.
	HELO string
	// Returns, when set, gives every message to a reader an envelope
	// sender of its own at the bounce domain (VERP), so that a DSN that
	// comes back names its reader and message; the From: header stays.
	Returns *bounce.Signer

	opts []gomail.Option
	host string
}

// NewSMTP returns a transport for smtp://user:pass@host:587 (STARTTLS
// required unless ?tls=none) or smtps://host:465.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("smtp url: %w", err)
	}
	opts := []gomail.Option{
		gomail.WithTimeout(30 * time.Second),
		// A NOOP before every message and an RSET after every accepted one
		// would add two round trips per email for no gain: the connection is
		// fresh and an accepted transaction is already over.
		gomail.WithoutNoop(), gomail.WithoutRset(),
	}
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
	// Checked once here so that Open can only fail on the network.
	if _, err := gomail.NewClient(u.Hostname(), opts...); err != nil {
		return nil, fmt.Errorf("smtp client: %w", err)
	}
	return &SMTP{From: from, opts: opts, host: u.Hostname()}, nil
}

// smtpConn is one SMTP session; it redials after a broken connection or
// after PerConnection messages.
type smtpConn struct {
	s      *SMTP
	client *gomail.Client
	sess   *gosmtp.Client
	sent   int
	send   func(*gomail.Msg) error
	close  func() error
}

// Open implements connector. Each connection has its own go-mail client so
// that parallel connections share no state.
func (s *SMTP) Open(ctx context.Context) (Conn, error) {
	c := &smtpConn{s: s}
	if err := c.dial(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *smtpConn) dial(ctx context.Context) error {
	opts := c.s.opts
	if c.s.HELO != "" {
		opts = append(opts[:len(opts):len(opts)], gomail.WithHELO(c.s.HELO))
	}
	cl, err := gomail.NewClient(c.s.host, opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	sc, err := cl.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("connect to smtp server: %w", err)
	}
	c.client, c.sess, c.sent = cl, sc, 0
	c.send = func(m *gomail.Msg) error { return cl.SendWithSMTPClient(sc, m) }
	c.close = func() error { return cl.CloseWithSMTPClient(sc) }
	return nil
}

// Send sends one message; nil means the server accepted it.
func (c *smtpConn) Send(ctx context.Context, m *Message) error {
	gm, err := m.build(c.s.From, c.s.DKIM)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCompose, err)
	}
	if c.s.Returns != nil && m.Sub != "" {
		ret, err := c.s.Returns.Address(m.Sub, time.Now())
		if err == nil {
			err = gm.EnvelopeFrom(ret)
		}
		if err != nil {
			return fmt.Errorf("%w: bounce address: %w", ErrCompose, err)
		}
	}
	if c.sess == nil || !c.sess.HasConnection() || (c.s.PerConnection > 0 && c.sent >= c.s.PerConnection) {
		if c.sess != nil {
			_ = c.close()
			c.sess = nil
		}
		if err := c.dial(ctx); err != nil {
			return err
		}
	}
	c.sent++
	// go-mail asks for SMTPUTF8 whenever the server offers it; it is only
	// needed for an address that is not ASCII (RFC 6531), and a relay that
	// offers it may still pass the message to one that does not.
	c.sess.SkipSMTPUTF8(!needsUTF8(gm))
	if err := c.send(gm); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && se.ErrorCode() >= 400 && se.ErrorCode() < 600 && se.ErrorCode() != 421 {
			return err // the server answered: the connection is still good
		}
		// No answer, or 421 (the server is closing): start afresh next time.
		_ = c.close()
		c.sess = nil
		return err
	}
	return nil
}

func (c *smtpConn) Close() error {
	if c.sess == nil {
		return nil
	}
	c.sess = nil
	return c.close()
}

// Send implements Transport: one connection for the whole batch.
func (s *SMTP) Send(ctx context.Context, msgs []*Message) []error {
	errs := make([]error, len(msgs))
	c := &smtpConn{s: s}
	defer c.Close()
	for i, m := range msgs {
		errs[i] = c.Send(ctx, m)
	}
	return errs
}

// needsUTF8 reports whether the envelope of gm has an address that is not
// ASCII. Headers need no SMTPUTF8: go-mail encodes them (RFC 2047).
func needsUTF8(gm *gomail.Msg) bool {
	from, _ := gm.GetSender(false)
	rcpts, _ := gm.GetRecipients()
	for _, a := range append(rcpts, from) {
		if !isASCII(a) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// oneByOne adapts a plain Transport (the demo's outbox) to a Conn.
type oneByOne struct{ tr Transport }

func (o oneByOne) Send(ctx context.Context, m *Message) error {
	return o.tr.Send(ctx, []*Message{m})[0]
}
func (o oneByOne) Close() error { return nil }

func open(ctx context.Context, tr Transport) (Conn, error) {
	if c, ok := tr.(connector); ok {
		return c.Open(ctx)
	}
	return oneByOne{tr}, nil
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
	return !errors.Is(err, ErrHeader) && !errors.Is(err, ErrCompose)
}
