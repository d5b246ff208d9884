// Package smtptest runs a real SMTP server inside a test (emersion/go-smtp
// on a random 127.0.0.1 port, plain text, optional AUTH PLAIN) that captures
// every message it accepts: envelope, raw data, parsed headers and decoded
// text and HTML parts. Faults can be switched on: temporary (421, 451) or
// permanent (550) answers at MAIL, RCPT or DATA, for the next messages or
// for given recipients, slow answers, answers held until the test lets
// them go, and dropped connections.
//
// A client connects with the URL from Server.URL, e.g.
// "smtp://user:pass@127.0.0.1:2525?tls=none" (go-mail: mail.NewClient(
// srv.Host, mail.WithPort(srv.Port), mail.WithTLSPolicy(mail.NoTLS)), and
// mail.SMTPAuthPlainNoEnc for AUTH without TLS). A typical test:
//
//	srv := smtptest.New(t, smtptest.WithAuth("herald", "pw"))
//	// start herald with HERALD_SMTP_URL=srv.URL(), sign up reader@example.com
//	m := srv.WaitMessagesTo(5*time.Second, "reader@example.com", 1)[0]
//	confirm := m.Link(publicURL + "/confirm?token=")
//
// Only messages the server accepted are captured; refusals are in
// Rejections.
package smtptest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

type config struct {
	user, pass string
	maxBytes   int64
}

// Option configures a Server.
type Option func(*config)

// WithAuth requires AUTH PLAIN with this user and password before MAIL.
func WithAuth(user, pass string) Option {
	return func(c *config) { c.user, c.pass = user, pass }
}

// WithMaxMessageBytes sets the SIZE limit the server announces and
// enforces (default 10 MiB).
func WithMaxMessageBytes(n int64) Option { return func(c *config) { c.maxBytes = n } }

// Server is the in-test SMTP server. All methods are safe for concurrent
// use.
type Server struct {
	// Addr is "127.0.0.1:port"; Host and Port are its parts.
	Addr string
	Host string
	Port int

	t   testing.TB
	cfg config
	srv *smtp.Server
	ln  *countingListener

	mu         sync.Mutex
	changed    chan struct{}
	closed     chan struct{}
	messages   []*Message
	rejections []Rejection
	faults     []*Fault
	delay      time.Duration
	holding    int
}

// New starts an SMTP server that is closed when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := config{maxBytes: 10 << 20}
	for _, o := range opts {
		o(&cfg)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s := &Server{
		t:       t,
		cfg:     cfg,
		ln:      &countingListener{Listener: l, ids: map[string]int{}},
		changed: make(chan struct{}),
		closed:  make(chan struct{}),
	}
	addr := l.Addr().(*net.TCPAddr)
	s.Addr, s.Host, s.Port = addr.String(), addr.IP.String(), addr.Port
	s.srv = smtp.NewServer(s)
	s.srv.Domain = "smtptest.localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.MaxMessageBytes = cfg.maxBytes
	s.srv.MaxRecipients = 100
	// Offered as Postfix does, so that a test sees whether the client
	// asks for it.
	s.srv.EnableSMTPUTF8 = true
	// Generous timeouts: they only free the server from a client that
	// vanished, they must never fire in a slow but healthy test.
	s.srv.ReadTimeout = time.Minute
	s.srv.WriteTimeout = time.Minute
	s.srv.ErrorLog = discardLogger{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.srv.Serve(s.ln)
	}()
	t.Cleanup(func() {
		s.mu.Lock()
		close(s.closed)
		s.mu.Unlock()
		_ = s.srv.Close()
		// go-smtp's Close closes only the listeners Serve has registered:
		// when a test ends before the Serve goroutine got that far, Serve
		// would then block in Accept for ever. Closing the listener here
		// too makes Accept fail, and Serve, seeing Close was called, return.
		_ = s.ln.Close()
		<-done
	})
	return s
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

// URL is the server's address as an smtp URL for a client without TLS:
// "smtp://user:pass@127.0.0.1:port?tls=none", without user info unless
// WithAuth was given.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.Addr, RawQuery: "tls=none"}
	if s.cfg.user != "" {
		u.User = url.UserPassword(s.cfg.user, s.cfg.pass)
	}
	return u.String()
}

// countingListener numbers the connections it accepts.
type countingListener struct {
	net.Listener
	mu  sync.Mutex
	n   int
	ids map[string]int // remote address -> connection number
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.n++
	l.ids[c.RemoteAddr().String()] = l.n
	l.mu.Unlock()
	return c, nil
}

func (l *countingListener) id(c net.Conn) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ids[c.RemoteAddr().String()]
}

// Connections counts the TCP connections accepted so far.
func (s *Server) Connections() int {
	s.ln.mu.Lock()
	defer s.ln.mu.Unlock()
	return s.ln.n
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Stage is the SMTP command a fault answers.
type Stage int

// The stages at which a fault can strike.
const (
	AtData Stage = iota // the reply after the message data (the default)
	AtMail              // MAIL FROM
	AtRcpt              // RCPT TO
)

func (st Stage) String() string {
	switch st {
	case AtMail:
		return "MAIL"
	case AtRcpt:
		return "RCPT"
	}
	return "DATA"
}

// Fault is a misbehaviour; the first matching fault with uses left applies.
type Fault struct {
	Stage Stage
	// Code is the reply code, e.g. 421 (and the connection is closed, as
	// RFC 5321 says), 450, 451, 452 (temporary), 550, 552, 554 (permanent).
	// 0 answers normally, after Delay or Drop.
	Code int
	// Times is how many times the fault strikes (once per message at MAIL
	// and DATA, once per recipient at RCPT); 0 means until ClearFaults.
	Times int
	// Recipient limits the fault to one address (case-insensitive) at RCPT,
	// or to messages with that recipient at DATA; it is ignored at MAIL.
	Recipient string
	// Delay holds the reply back this long.
	Delay time.Duration
	// Drop closes the connection instead of replying.
	Drop bool
	// Hold, when set, keeps the reply back until it is closed (or the
	// server closes): a server that stalls, for as long as the test
	// wants. Holding counts the replies held so.
	Hold <-chan struct{}
}

// AddFault switches a fault on.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// Fail answers the next n messages with code after their data (at DATA).
func (s *Server) Fail(code, n int) {
	s.AddFault(Fault{Stage: AtData, Code: code, Times: n})
}

// FailAt answers the next n messages (recipients, at RCPT) with code at
// stage.
func (s *Server) FailAt(stage Stage, code, n int) {
	s.AddFault(Fault{Stage: stage, Code: code, Times: n})
}

// FailRecipient answers RCPT TO for addr with code until ClearFaults, as a
// server does for an unknown mailbox (550) or a full one (452).
func (s *Server) FailRecipient(addr string, code int) {
	s.AddFault(Fault{Stage: AtRcpt, Code: code, Recipient: addr})
}

// DropNext closes the connection of the next n messages after their data,
// without a reply: the client cannot know whether they were accepted (they
// were not).
func (s *Server) DropNext(n int) {
	s.AddFault(Fault{Stage: AtData, Drop: true, Times: n})
}

// HoldNext holds the reply to the next message's data until release is
// called: the message is accepted (and captured) only then. Each call
// holds one more message, released on its own.
func (s *Server) HoldNext() (release func()) {
	ch := make(chan struct{})
	s.AddFault(Fault{Stage: AtData, Times: 1, Hold: ch})
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

// Holding is how many replies a Hold keeps back now.
func (s *Server) Holding() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holding
}

// SetDelay delays every MAIL, RCPT and DATA reply by d (0 switches it off).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// ClearFaults switches every fault and the delay off.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	s.delay = 0
}

// takeFault uses up one strike of the first fault matching stage and
// recipients.
func (s *Server) takeFault(stage Stage, rcpts []string) (*Fault, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Stage != stage {
			continue
		}
		if f.Recipient != "" && stage != AtMail && !slices.ContainsFunc(rcpts, func(r string) bool { return strings.EqualFold(r, f.Recipient) }) {
			continue
		}
		applied := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return &applied, s.delay
	}
	return nil, s.delay
}

// Rejection is a MAIL, RCPT or DATA the server refused (or dropped).
type Rejection struct {
	Stage Stage
	Code  int // 0 when the connection was dropped
	From  string
	To    []string // the recipient at RCPT, all accepted ones at DATA
	Time  time.Time
}

// Rejections returns what the server refused, in order.
func (s *Server) Rejections() []Rejection {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rejections)
}

// NewSession implements smtp.Backend.
func (s *Server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s, conn: c, connID: s.ln.id(c.Conn()), authed: s.cfg.user == ""}, nil
}

type session struct {
	s      *Server
	conn   *smtp.Conn
	connID int
	authed bool
	from   string
	utf8   bool
	to     []string
}

var (
	_ smtp.Session     = (*session)(nil)
	_ smtp.AuthSession = (*session)(nil)
)

func (ss *session) AuthMechanisms() []string {
	if ss.s.cfg.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != ss.s.cfg.user || pass != ss.s.cfg.pass {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

// enhanced picks an RFC 3463 enhanced status code that fits code.
func enhanced(code int) (smtp.EnhancedCode, string) {
	switch code {
	case 421:
		return smtp.EnhancedCode{4, 3, 2}, "Service not available, closing transmission channel"
	case 450:
		return smtp.EnhancedCode{4, 2, 1}, "Mailbox unavailable, try again later"
	case 451:
		return smtp.EnhancedCode{4, 3, 0}, "Local error in processing, try again later"
	case 452:
		return smtp.EnhancedCode{4, 2, 2}, "Mailbox full"
	case 550:
		return smtp.EnhancedCode{5, 1, 1}, "Mailbox unavailable: no such user"
	case 552:
		return smtp.EnhancedCode{5, 2, 2}, "Mailbox full"
	case 553:
		return smtp.EnhancedCode{5, 1, 3}, "Mailbox name not allowed"
	case 554:
		return smtp.EnhancedCode{5, 7, 1}, "Transaction failed: message refused"
	}
	return smtp.EnhancedCode{code / 100, 0, 0}, "Failure injected by smtptest"
}

// apply carries out a fault (and the global delay) at one stage; a non-nil
// error is the reply to send.
func (ss *session) apply(stage Stage, rcpts []string) error {
	f, delay := ss.s.takeFault(stage, rcpts)
	if f != nil {
		delay += f.Delay
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ss.s.closed:
			t.Stop()
		}
	}
	if f != nil && f.Hold != nil {
		ss.s.setHolding(+1)
		select {
		case <-f.Hold:
		case <-ss.s.closed:
		}
		ss.s.setHolding(-1)
	}
	if f == nil || (f.Code == 0 && !f.Drop) {
		return nil
	}
	ss.s.record(Rejection{Stage: stage, Code: f.Code, From: ss.from, To: slices.Clone(rcpts), Time: time.Now()})
	nc := ss.conn.Conn()
	if f.Drop {
		_ = nc.Close()
		return errDropped
	}
	ec, msg := enhanced(f.Code)
	if f.Code == 421 {
		// 421 means the server is closing the channel: reply, then close,
		// so the client sees both, as from a real server.
		_, _ = fmt.Fprintf(nc, "421 %d.%d.%d %s\r\n", ec[0], ec[1], ec[2], msg)
		_ = nc.Close()
		return errDropped
	}
	return &smtp.SMTPError{Code: f.Code, EnhancedCode: ec, Message: msg}
}

// errDropped is returned after the connection was closed; nobody reads it.
var errDropped = errors.New("smtptest: connection dropped")

func (s *Server) setHolding(d int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holding += d
	s.notifyLocked()
}

func (s *Server) record(r Rejection) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejections = append(s.rejections, r)
	s.notifyLocked()
}

func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	if !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from, ss.to = from, nil
	ss.utf8 = opts != nil && opts.UTF8
	return ss.apply(AtMail, nil)
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.apply(AtRcpt, []string{to}); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	// Read everything first: a client still writing its data would not see
	// a reply or a closed connection the way it would from a real server.
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := ss.apply(AtData, ss.to); err != nil {
		return err
	}
	m := parseMessage(data)
	m.From, m.To, m.Conn, m.Received = ss.from, slices.Clone(ss.to), ss.connID, time.Now()
	m.Helo, m.SMTPUTF8 = ss.conn.Hostname(), ss.utf8
	ss.s.mu.Lock()
	ss.s.messages = append(ss.s.messages, m)
	ss.s.notifyLocked()
	ss.s.mu.Unlock()
	return nil
}

func (ss *session) Reset() { ss.from, ss.to, ss.utf8 = "", nil, false }

func (ss *session) Logout() error { return nil }

// Messages returns every accepted message, in order.
func (s *Server) Messages() []*Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// MessagesTo returns the accepted messages with addr among their envelope
// recipients (case-insensitive).
func (s *Server) MessagesTo(addr string) []*Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messagesToLocked(addr)
}

func (s *Server) messagesToLocked(addr string) []*Message {
	var out []*Message
	for _, m := range s.messages {
		if slices.ContainsFunc(m.To, func(r string) bool { return strings.EqualFold(r, addr) }) {
			out = append(out, m)
		}
	}
	return out
}

// waitFor blocks until cond (called with s.mu held) is true or ctx ends.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok, ch := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closed:
			return errors.New("smtptest: server closed")
		}
	}
}

// WaitMessages waits until at least n messages were accepted and returns
// them all; after timeout it fails the test. Call it from the test's
// goroutine.
func (s *Server) WaitMessages(timeout time.Duration, n int) []*Message {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	msgs, err := s.WaitMessagesCtx(ctx, n)
	if err != nil {
		s.t.Fatalf("smtptest: waited %v for %d messages, got %d", timeout, n, len(msgs))
	}
	return msgs
}

// WaitMessagesCtx waits until at least n messages were accepted and
// returns them all, or those so far with ctx's error.
func (s *Server) WaitMessagesCtx(ctx context.Context, n int) ([]*Message, error) {
	err := s.waitFor(ctx, func() bool { return len(s.messages) >= n })
	return s.Messages(), err
}

// WaitMessagesTo waits until at least n messages to addr were accepted and
// returns them; after timeout it fails the test.
func (s *Server) WaitMessagesTo(timeout time.Duration, addr string, n int) []*Message {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := s.waitFor(ctx, func() bool { return len(s.messagesToLocked(addr)) >= n })
	msgs := s.MessagesTo(addr)
	if err != nil {
		s.t.Fatalf("smtptest: waited %v for %d messages to %s, got %d", timeout, n, addr, len(msgs))
	}
	return msgs
}

// WaitUntil waits until cond returns true, re-checking after every change
// (a message accepted or refused), and fails the test after timeout. cond
// runs without the server's lock, so it may call the server's methods.
func (s *Server) WaitUntil(timeout time.Duration, cond func() bool) {
	s.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			s.t.Fatalf("smtptest: condition not met within %v", timeout)
		case <-s.closed:
			s.t.Fatalf("smtptest: server closed while waiting")
		}
	}
}

// String describes the server for test logs.
func (s *Server) String() string {
	return "smtptest " + s.Addr + " (" + strconv.Itoa(s.Connections()) + " connections)"
}
