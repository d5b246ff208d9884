package bounce

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// Recorder applies a verified report to the reader it names. An error is
// answered with a 4xx, so that the MTA brings the report again later.
type Recorder interface {
	Record(ctx context.Context, ref Ref, rep *Report) error
}

// The listener's default limits.
const (
	// DefaultMaxBytes is the largest message taken (SIZE); a complaint
	// report may carry a whole digest as its original message.
	DefaultMaxBytes = 1 << 20
	// ReportBytes is how much of a message is parsed: the report parts
	// come before the returned original, and Postfix returns at most
	// 50,000 bytes of it.
	ReportBytes = 256 << 10
	// DefaultMaxConns is how many SMTP connections are served at once;
	// more are answered 421 and closed.
	DefaultMaxConns = 20
	// DefaultBurst and DefaultRate bound the messages one IP address may
	// send: a burst, then this many a second (a 451 beyond, which MTAs
	// retry later).
	DefaultBurst = 200
	DefaultRate  = 5.0
)

// Server takes reports over SMTP for the Signer's domain. Set its fields
// before Serve.
type Server struct {
	Signer   *Signer
	Recorder Recorder
	Log      *slog.Logger
	// MaxBytes, MaxConns, Burst and Rate are the limits; zero means the
	// default.
	MaxBytes int64
	MaxConns int
	Burst    int
	Rate     float64
	// Refused, when set, is told of every refusal by its reason:
	// "connections", "rate", "recipient", "report", "size", "error".
	Refused func(reason string)
	// Now is the clock that bounds tokens' age and paces the rate limit.
	Now func() time.Time
}

// Serve answers SMTP on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	b := &backend{s: s, ctx: ctx,
		rate: newBuckets(float64(cmp.Or(s.Burst, DefaultBurst)), cmp.Or(s.Rate, DefaultRate))}
	srv := smtp.NewServer(b)
	srv.Domain = s.Signer.Domain()
	srv.MaxMessageBytes = cmp.Or(s.MaxBytes, DefaultMaxBytes)
	// One recipient per transaction: a report is about one message, hence
	// one bounce address. A second RCPT gets 452 and comes in its own
	// transaction.
	srv.MaxRecipients = 1
	// A DSN about an internationalised address (RFC 6533) comes over
	// SMTPUTF8; the bounce address itself is ASCII.
	srv.EnableSMTPUTF8 = true
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = smtpLog{s.Log}
	ll := &limitListener{Listener: ln, slots: make(chan struct{}, cmp.Or(s.MaxConns, DefaultMaxConns)),
		refused: func(addr net.Addr) {
			s.Log.Warn("bounce listener: too many connections; refused one", "remote", addr.String())
			s.refused("connections")
		}}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ll) }()
	select {
	case err := <-done:
		return fmt.Errorf("bounce listener: %w", err)
	case <-ctx.Done():
	}
	// A report cut off here is not acknowledged, so its MTA sends it again.
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		_ = srv.Close()
	}
	<-done
	return nil
}

func (s *Server) refused(reason string) {
	if s.Refused != nil {
		s.Refused(reason)
	}
}

type backend struct {
	s    *Server
	ctx  context.Context
	rate *buckets
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	remote := c.Conn().RemoteAddr().String()
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	return &session{b: b, remote: remote, ip: host}, nil
}

type session struct {
	b      *backend
	remote string
	ip     string
	ref    *Ref
}

var _ smtp.Session = (*session)(nil)

func (ss *session) refuse(reason string, err *smtp.SMTPError, args ...any) error {
	ss.b.s.Log.Info("bounce listener refused", append([]any{"reason", reason, "remote", ss.remote, "reply", err.Code}, args...)...)
	ss.b.s.refused(reason)
	return err
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.ref = nil
	if !ss.b.rate.take(ss.ip, ss.b.s.Now()) {
		return ss.refuse("rate", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 0},
			Message: "Too many reports from this address; try again later"})
	}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ref, err := ss.b.s.Signer.Verify(to, ss.b.s.Now())
	if err != nil {
		code := &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such bounce address"}
		if errors.Is(err, ErrNotOurs) {
			code = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Relaying denied: only reports to the bounce domain are taken"}
		}
		return ss.refuse("recipient", code, "rcpt", to, "err", err)
	}
	ss.ref = &ref
	return nil
}

func (ss *session) Data(r io.Reader) (err error) {
	if ss.ref == nil {
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "No valid recipient"}
	}
	// Hostile input must not take the listener down; go-smtp would answer
	// a panic with 421, this also logs it.
	defer func() {
		if p := recover(); p != nil {
			ss.b.s.Log.Error("bounce listener: panic while reading a report", "remote", ss.remote, "panic", p)
			err = ss.refuse("error", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Internal error"})
		}
	}()
	rep, perr := Parse(io.LimitReader(r, ReportBytes))
	// Read the rest, or go-smtp cannot tell a message over the size limit.
	if _, err := io.Copy(io.Discard, r); err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) && se.Code == 552 {
			return ss.refuse("size", se, "subscriber", ss.ref.Reader)
		}
		return err
	}
	if perr != nil {
		return ss.refuse("report", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
			Message: "Only delivery status notifications (RFC 3464) and feedback reports (RFC 5965) are taken here"},
			"subscriber", ss.ref.Reader, "err", perr)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ss.b.ctx), 10*time.Second)
	defer cancel()
	if err := ss.b.s.Recorder.Record(ctx, *ss.ref, rep); err != nil {
		ss.b.s.Log.Warn("bounce report not recorded; the MTA will bring it again", "subscriber", ss.ref.Reader, "err", err)
		ss.b.s.refused("error")
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Cannot record the report now; try again later"}
	}
	ss.b.s.Log.Info("bounce report taken", "subscriber", ss.ref.Reader, "kind", rep.Kind, "status", rep.Status,
		"detail", rep.Detail, "remote", ss.remote)
	return nil
}

func (ss *session) Reset() { ss.ref = nil }

func (ss *session) Logout() error { return nil }

// smtpLog sends go-smtp's own messages (failed accepts, broken
// connections) to slog.
type smtpLog struct{ log *slog.Logger }

func (l smtpLog) Printf(format string, v ...any) {
	l.log.Info("bounce listener: " + strings.TrimSpace(fmt.Sprintf(format, v...)))
}
func (l smtpLog) Println(v ...any) {
	l.log.Info("bounce listener: " + strings.TrimSpace(fmt.Sprintln(v...)))
}
