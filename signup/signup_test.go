package signup_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/mailer"
	"github.com/herald-news/herald/mailer/smtptest"
	"github.com/herald-news/herald/signup"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

// Mail through a real mailer and a real SMTP exchange, as in production.
var _ signup.Mail = (*mailer.Mailer)(nil)

type fixture struct {
	subs *subscriptions.Store
	smtp *smtptest.Server
	reg  *signup.Registrar
}

func newFixture(t *testing.T) *fixture {
	st := storetest.New(t)
	f := &fixture{subs: subscriptions.NewStore(st), smtp: smtptest.New(t)}
	tr, err := mailer.NewSMTP(f.smtp.URL(), "Herald <news@herald.test>")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	m := mailer.New(st, f.subs, tr, "https://herald.test", []byte("test-secret"), log)
	f.reg = signup.New(f.subs, m, log)
	return f
}

func TestLinkEmail(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	chat := &subscriptions.Subscriber{ID: subscriptions.TelegramID(77), Kind: subscriptions.KindTelegram, ChatID: 77,
		Status: subscriptions.StatusActive, Topics: []string{"belarus", "iran drones"}, TZ: "Europe/Vilnius"}
	if err := f.subs.Put(ctx, chat); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.LinkEmail(ctx, chat, "not an address"); !errors.Is(err, signup.ErrAddress) {
		t.Fatalf("LinkEmail(bad address) = %v", err)
	}
	if err := f.reg.LinkEmail(ctx, chat, "ana@example.org"); err != nil {
		t.Fatal(err)
	}
	msg := f.smtp.WaitMessagesTo(5*time.Second, "ana@example.org", 1)[0]
	link := msg.Link("https://herald.test/confirm?token=")
	if link == "" || !strings.Contains(msg.Text, "iran drones") {
		t.Fatalf("link confirmation lacks link or topics:\n%s", msg.Text)
	}
	reader, err := f.subs.ByEmail(ctx, "ana@example.org")
	if err != nil || reader.Status != subscriptions.StatusPending || reader.TZ != "Europe/Vilnius" {
		t.Fatalf("reader before confirming: %+v %v", reader, err)
	}
	// The web page verifies the token and calls ConfirmLink with its subject.
	if _, err := f.reg.ConfirmLink(ctx, reader.ID); err == nil {
		t.Fatal("ConfirmLink accepted a subject without the chat")
	}
	if _, err := f.reg.ConfirmLink(ctx, reader.ID+" "+chat.ID); err != nil {
		t.Fatal(err)
	}
	reader, _ = f.subs.Get(ctx, reader.ID)
	chatNow, _ := f.subs.Get(ctx, chat.ID)
	if reader.Status != subscriptions.StatusActive || reader.LinkedTo != chat.ID || chatNow.LinkedTo != reader.ID {
		t.Fatalf("after confirming: reader %+v, chat linked to %q", reader, chatNow.LinkedTo)
	}
	// The bot changes the chat's topics; the reader follows them.
	if _, err := f.subs.AddTopic(ctx, chat.ID, "minsk"); err != nil {
		t.Fatal(err)
	}
	reader, _ = f.subs.Get(ctx, reader.ID)
	if strings.Join(reader.Topics, ",") != "belarus,iran drones,minsk" {
		t.Fatalf("reader topics = %q, want the chat's", reader.Topics)
	}
}

// A suspended address gets no further confirmations: it bounced.
func TestLinkEmailSuspended(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	chat := &subscriptions.Subscriber{ID: subscriptions.TelegramID(78), Kind: subscriptions.KindTelegram, ChatID: 78,
		Status: subscriptions.StatusActive, Topics: []string{"belarus"}}
	gone := &subscriptions.Subscriber{ID: subscriptions.NewReaderID(), Kind: subscriptions.KindEmail, Email: "gone@example.org",
		Status: subscriptions.StatusSuspended, Topics: []string{"x"}}
	for _, s := range []*subscriptions.Subscriber{chat, gone} {
		if err := f.subs.Put(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.reg.LinkEmail(ctx, chat, "gone@example.org"); err != nil {
		t.Fatal(err)
	}
	// Then a link for another address, which is mailed: once it arrived,
	// the suspended one would have arrived before it.
	if err := f.reg.LinkEmail(ctx, chat, "ana@example.org"); err != nil {
		t.Fatal(err)
	}
	f.smtp.WaitMessagesTo(5*time.Second, "ana@example.org", 1)
	if got := f.smtp.MessagesTo("gone@example.org"); len(got) != 0 {
		t.Fatalf("%d confirmations to a suspended address", len(got))
	}
	if s, _ := f.subs.Get(ctx, gone.ID); s.Status != subscriptions.StatusSuspended || s.LinkedTo != "" {
		t.Fatalf("suspended reader changed: %+v", s)
	}
}

// Subscribe answers every sign-up the same way to the page, and mails
// what fits the address: a confirmation to a new or pending one, the
// manage link to an active one, nothing to a suspended one.
func TestSubscribe(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := signup.Prefs{Topics: []string{"belarus"}, Frequency: "daily", Hour: 7, TZ: "UTC"}
	sub, send, err := f.reg.Subscribe(ctx, "new@example.org", p)
	if err != nil || send == nil || sub.Status != subscriptions.StatusPending {
		t.Fatalf("Subscribe(new) = %+v, send %v, %v", sub, send != nil, err)
	}
	if err := send(ctx); err != nil {
		t.Fatal(err)
	}
	if msg := f.smtp.WaitMessagesTo(5*time.Second, "new@example.org", 1)[0]; msg.Link("https://herald.test/confirm?token=") == "" {
		t.Fatalf("confirmation without its link:\n%s", msg.Text)
	}

	active := &subscriptions.Subscriber{ID: subscriptions.NewReaderID(), Kind: subscriptions.KindEmail, Email: "old@example.org",
		Status: subscriptions.StatusActive, Topics: []string{"kept"}}
	if err := f.subs.Put(ctx, active); err != nil {
		t.Fatal(err)
	}
	_, send, err = f.reg.Subscribe(ctx, "old@example.org", p)
	if err != nil || send == nil {
		t.Fatalf("Subscribe(active) = send %v, %v", send != nil, err)
	}
	if err := send(ctx); err != nil {
		t.Fatal(err)
	}
	if msg := f.smtp.WaitMessagesTo(5*time.Second, "old@example.org", 1)[0]; msg.Link("https://herald.test/manage?token=") == "" {
		t.Fatalf("an active reader got no manage link:\n%s", msg.Text)
	}
	if s, _ := f.subs.Get(ctx, active.ID); s.Status != subscriptions.StatusActive || s.Topics[0] != "kept" {
		t.Fatalf("a sign-up changed an active reader before they chose to: %+v", s)
	}

	gone := &subscriptions.Subscriber{ID: subscriptions.NewReaderID(), Kind: subscriptions.KindEmail, Email: "gone@example.org",
		Status: subscriptions.StatusSuspended}
	if err := f.subs.Put(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if _, send, err = f.reg.Subscribe(ctx, "gone@example.org", p); err != nil || send != nil {
		t.Fatalf("Subscribe(suspended) = send %v, %v; want nothing to send", send != nil, err)
	}
}
