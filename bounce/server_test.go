package bounce_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/herald-news/herald/bounce"
)

// recorder is a Recorder that keeps every call, so that a test can check
// the whole list (nothing recorded for refused input), and fails each one
// with fail when set.
type recorder struct {
	mu   sync.Mutex
	got  []recorded
	fail error
}

type recorded struct {
	ref bounce.Ref
	rep bounce.Report
}

var _ bounce.Recorder = (*recorder)(nil)

func (r *recorder) Record(_ context.Context, ref bounce.Ref, rep *bounce.Report) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, recorded{ref, *rep})
	return r.fail
}

func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.got...)
}

type listener struct {
	addr    string
	signer  *bounce.Signer
	rec     *recorder
	mu      sync.Mutex
	refused []string
}

func (l *listener) reasons() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.refused...)
}

func startServer(t *testing.T, tune func(*bounce.Server)) *listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &listener{addr: ln.Addr().String(), signer: bounce.NewSigner([]byte("secret"), "bounces.example.org"), rec: &recorder{}}
	s := &bounce.Server{Signer: l.signer, Recorder: l.rec, Log: slog.New(slog.DiscardHandler),
		Refused: func(r string) { l.mu.Lock(); l.refused = append(l.refused, r); l.mu.Unlock() }}
	if tune != nil {
		tune(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return l
}

// send delivers one message and returns the server's verdict (nil: 250).
func send(t *testing.T, addr, rcpt, msg string) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("relay.example.net"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("", nil); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	return w.Close()
}

func code(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestServerTakesReports(t *testing.T) {
	l := startServer(t, nil)
	sent := time.Now().Add(-time.Hour).Truncate(time.Second)
	addr, _ := l.signer.Address("mail:0123456789abcdef01", sent)
	if err := send(t, l.addr, strings.ToUpper(addr), dsn("delivery-status", "message/delivery-status", "", failedBlocks)); err != nil {
		t.Fatalf("DSN refused: %v", err)
	}
	complaint := dsn("feedback-report", "message/feedback-report", "", "Feedback-Type: abuse\nVersion: 1\n")
	if err := send(t, l.addr, addr, complaint); err != nil {
		t.Fatalf("complaint refused: %v", err)
	}
	// A global DSN (RFC 6533) about an internationalised address comes in
	// an SMTPUTF8 transaction.
	c, err := smtp.Dial(l.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("", &smtp.MailOptions{UTF8: true}); err != nil {
		t.Fatalf("MAIL FROM:<> SMTPUTF8: %v", err)
	}
	if err := c.Rcpt(addr, nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, dsn("delivery-status", "message/global-delivery-status", "",
		"Reporting-MTA: dns; relay\n\nFinal-Recipient: utf-8; jürgen@example.de\nAction: failed\nStatus: 5.1.1\n"))
	if err := w.Close(); err != nil {
		t.Fatalf("global DSN refused: %v", err)
	}
	got := l.rec.all()
	if len(got) != 3 {
		t.Fatalf("recorded %d reports, want 3", len(got))
	}
	if got[2].rep.Recipient != "jürgen@example.de" {
		t.Fatalf("third report recorded as %+v", got[2])
	}
	if got[0].ref.Reader != "mail:0123456789abcdef01" || !got[0].ref.Sent.Equal(sent) || got[0].rep.Kind != bounce.Failed || got[0].rep.Status != "5.1.1" {
		t.Fatalf("first report recorded as %+v", got[0])
	}
	if got[1].rep.Kind != bounce.Complaint || got[1].ref.Message != got[0].ref.Message {
		t.Fatalf("second report recorded as %+v", got[1])
	}
}

func TestServerRefuses(t *testing.T) {
	l := startServer(t, func(s *bounce.Server) { s.MaxBytes = 64 << 10 })
	addr, _ := l.signer.Address("mail:0123456789abcdef01", time.Now())
	report := dsn("delivery-status", "message/delivery-status", "", failedBlocks)
	cases := []struct {
		name, rcpt, msg string
		code            int
		reason          string
	}{
		{"another domain", "someone@example.org", report, 550, "recipient"},
		{"a bad token", "b+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@bounces.example.org", report, 550, "recipient"},
		{"postmaster", "postmaster@bounces.example.org", report, 550, "recipient"},
		{"not a report", addr, "Subject: hello\r\n\r\nBuy now.\r\n", 550, "report"},
		{"garbage", addr, "\x00\xff\r\n\r\n--\r\n", 550, "report"},
		{"too big", addr, report + strings.Repeat(strings.Repeat("x", 76)+"\r\n", 1000), 552, "size"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(l.reasons())
			err := send(t, l.addr, c.rcpt, c.msg)
			if code(err) != c.code {
				t.Fatalf("answer %v, want %d", err, c.code)
			}
			if r := l.reasons(); len(r) != before+1 || r[before] != c.reason {
				t.Fatalf("refusals %v, want one more: %s", r, c.reason)
			}
		})
	}
	if got := l.rec.all(); len(got) != 0 {
		t.Fatalf("refused input was recorded: %+v", got)
	}
	// And the listener still works.
	if err := send(t, l.addr, addr, report); err != nil {
		t.Fatalf("a good report after the bad ones: %v", err)
	}
}

func TestServerAsksAgainWhenRecordingFails(t *testing.T) {
	l := startServer(t, nil)
	l.rec.fail = errors.New("redis is down")
	addr, _ := l.signer.Address("mail:0123456789abcdef01", time.Now())
	if err := send(t, l.addr, addr, dsn("delivery-status", "message/delivery-status", "", failedBlocks)); code(err) != 451 {
		t.Fatalf("answer %v while the recorder fails; want 451 so that the MTA tries again", err)
	}
}

func TestServerRateLimit(t *testing.T) {
	// A burst of 2 and a rate so low that no token comes back during the
	// test: the third message is refused whatever the clock does.
	l := startServer(t, func(s *bounce.Server) { s.Burst, s.Rate = 2, 1e-9 })
	addr, _ := l.signer.Address("mail:0123456789abcdef01", time.Now())
	report := dsn("delivery-status", "message/delivery-status", "", failedBlocks)
	for i := range 2 {
		if err := send(t, l.addr, addr, report); err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
	}
	if err := send(t, l.addr, addr, report); code(err) != 451 {
		t.Fatalf("third message: %v, want 451", err)
	}
	if r := l.reasons(); len(r) != 1 || r[0] != "rate" {
		t.Fatalf("refusals %v, want [rate]", r)
	}
}

func TestServerConnectionLimit(t *testing.T) {
	l := startServer(t, func(s *bounce.Server) { s.MaxConns = 2 })
	var open []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", l.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		greeting, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.HasPrefix(greeting, "220 ") {
			t.Fatalf("greeting %q, %v", greeting, err)
		}
		open = append(open, c)
	}
	c, err := net.Dial("tcp", l.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if !strings.HasPrefix(line, "421 ") {
		t.Fatalf("third connection got %q, %v; want 421", line, err)
	}
	// A slot freed is a slot taken again.
	open[0].Close()
	addr, _ := l.signer.Address("mail:0123456789abcdef01", time.Now())
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := trySend(l.addr, addr, dsn("delivery-status", "message/delivery-status", "", failedBlocks))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no connection after one was closed: %v", err)
		}
	}
}

// trySend is send without failing the test on a refused connection: the
// server notices a closed connection only when it reads from it.
func trySend(addr, rcpt, msg string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("relay.example.net"); err != nil {
		return err
	}
	return c.SendMail("", []string{rcpt}, strings.NewReader(msg))
}
