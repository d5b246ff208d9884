package service_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/herald-news/herald/bounce"
	"github.com/herald-news/herald/config"
	"github.com/herald-news/herald/mailer/smtptest"
	"github.com/herald-news/herald/service"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

// report sends msg to rcpt at the bounce listener as an MTA does (null
// sender) and returns its answer.
func report(t *testing.T, addr, rcpt, msg string) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.SendMail("", []string{rcpt}, strings.NewReader(msg))
}

func reportMessage(reportType, partType, fields string) string {
	return strings.ReplaceAll(`From: MAILER-DAEMON@relay.example.net
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=`+reportType+`; boundary="b"

--b
Content-Type: text/plain

Your message could not be delivered.

--b
Content-Type: `+partType+`

`+fields+`
--b--
`, "\n", "\r\n")
}

// The email role's wiring: what herald sends names its reader in the
// envelope and EHLO's name is the public URL's host; a DSN to the bounce
// listener is recorded and counted in /metrics; a complaint unsubscribes;
// a stranger's mail is refused.
func TestBounceListener(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	relay := smtptest.New(t)
	web, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.RedisURL = storetest.URL()
	cfg.KeyPrefix = st.Prefix
	cfg.HTTPAddr = web.Addr().String()
	cfg.PublicURL = "https://news.herald.test"
	cfg.Secret = "bounce-test-secret"
	cfg.SMTPURL = relay.URL()
	cfg.MailFrom = "Herald <news@herald.test>"
	cfg.BounceDomain = "bounces.herald.test"
	cfg.BounceAddr = "127.0.0.1:0"
	svc := runEmailRole(t, ctx, service.Options{Config: cfg, Store: st, Listener: web})

	hour := (time.Now().UTC().Hour() + 12) % 24
	r := &subscriptions.Subscriber{ID: subscriptions.NewReaderID(), Kind: subscriptions.KindEmail, Email: "gone@example.org",
		Status: subscriptions.StatusActive, Topics: []string{"belarus"}, Frequency: "daily", Hour: hour, TZ: "UTC"}
	if err := svc.Subs.Put(ctx, r); err != nil {
		t.Fatal(err)
	}
	queueDigest(t, st, r)
	if n, err := svc.Mailer.SendDigests(ctx, true); n != 1 {
		t.Fatalf("SendDigests = %d, %v", n, err)
	}
	msg := relay.MessagesTo(r.Email)[0]
	if msg.Helo != "news.herald.test" {
		t.Errorf("EHLO %q, want the public URL's host", msg.Helo)
	}
	if msg.SMTPUTF8 {
		t.Error("SMTPUTF8 asked for between ASCII addresses")
	}
	ref, err := bounce.NewSigner([]byte(cfg.Secret), cfg.BounceDomain).Verify(msg.From, time.Now())
	if err != nil || ref.Reader != r.ID {
		t.Fatalf("envelope sender %q: %+v, %v", msg.From, ref, err)
	}

	dsn := reportMessage("delivery-status", "message/delivery-status",
		"Reporting-MTA: dns; relay.example.net\n\nFinal-Recipient: rfc822; gone@example.org\nAction: failed\nStatus: 5.1.1\n")
	if err := report(t, svc.BounceAddr(), msg.From, dsn); err != nil {
		t.Fatalf("DSN refused: %v", err)
	}
	if s, _ := svc.Subs.Get(ctx, r.ID); s.Bounces != 1 {
		t.Fatalf("after a DSN: %d bounces, want 1", s.Bounces)
	}
	if err := report(t, svc.BounceAddr(), "someone@bounces.herald.test", dsn); !isCode(err, 550) {
		t.Fatalf("mail to a stranger address: %v, want 550", err)
	}
	if err := report(t, svc.BounceAddr(), msg.From, reportMessage("feedback-report", "message/feedback-report", "Feedback-Type: abuse\nVersion: 1\n")); err != nil {
		t.Fatalf("complaint refused: %v", err)
	}
	if s, _ := svc.Subs.Get(ctx, r.ID); s.Status != subscriptions.StatusUnsubscribed {
		t.Fatalf("after a complaint the reader is %s", s.Status)
	}
	metrics := scrape(t, "http://"+svc.Addr()+"/metrics")
	for _, want := range []string{
		`herald_email_bounces_total{kind="hard",via="report"} 1`,
		`herald_email_complaints_total 1`,
		`herald_bounce_refused_total{reason="recipient"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func isCode(err error, code int) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code == code
}

// An address the listener cannot have stops start-up, naming the variable.
func TestBounceAddrInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := config.Defaults()
	cfg.RedisURL = "memory://"
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.SMTPURL = "smtp://127.0.0.1:25?tls=none"
	cfg.MailFrom = "Herald <news@herald.test>"
	cfg.BounceDomain = "bounces.herald.test"
	cfg.BounceAddr = busy.Addr().String()
	svc, err := service.New(service.Options{Config: cfg, Roles: []string{"email"}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	var ce *config.Error
	if err := svc.Listen(); !errors.As(err, &ce) || ce.Var != "HERALD_BOUNCE_ADDR" {
		t.Fatalf("Listen = %v; want an error naming HERALD_BOUNCE_ADDR", err)
	}
}

// runEmailRole starts a service with only the email role, logging to the
// test, its own digest rounds an hour apart (so that the test's rounds
// send), until the test ends. Options gives the configuration, store and
// listeners.
func runEmailRole(t *testing.T, ctx context.Context, o service.Options) *service.Service {
	t.Helper()
	o.Roles = []string{"email"}
	o.Log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	o.DigestTick = time.Hour
	svc, err := service.New(o)
	if err != nil {
		t.Fatal(err)
	}
	// Listening before Run starts: the addresses can then be read here.
	if err := svc.Listen(); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return svc
}
