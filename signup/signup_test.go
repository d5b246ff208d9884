package signup_test

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/mailer"
	"github.com/herald-news/herald/mailer/smtptest"
	"github.com/herald-news/herald/signup"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/token"
)

// Mail through a real mailer and a real SMTP exchange, as in production.
var _ signup.Mail = (*mailer.Mailer)(nil)

type fixture struct {
	subs *subscriptions.Store
	smtp *smtptest.Server
	m    *mailer.Mailer
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
	f.m = mailer.New(st, f.subs, tr, "https://herald.test", []byte("test-secret"), log)
	f.reg = signup.New(st, f.subs, f.m, log)
	// The emails go through the mailer's queue, as in the email role.
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); f.m.RunConfirmations(ctx) }()
	t.Cleanup(func() { cancel(); <-ran })
	return f
}

// ticket is what the web page hands Confirm: the subject of the emailed
// link's token, which the page verified.
func ticket(t *testing.T, link, purpose string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	subject, err := token.Verify([]byte("test-secret"), purpose, u.Query().Get("token"), time.Now())
	if err != nil {
		t.Fatalf("link %s: %v", link, err)
	}
	return subject
}

// idle waits until every queued email went out: after it, an email that
// is not at the SMTP server was never queued.
func (f *fixture) idle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := f.m.PendingConfirmations(context.Background())
		if err == nil && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d confirmations still queued after 5s (%v)", n, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func chatSub(t *testing.T, f *fixture, id int64, topics ...string) *subscriptions.Subscriber {
	t.Helper()
	chat := &subscriptions.Subscriber{ID: subscriptions.TelegramID(id), Kind: subscriptions.KindTelegram, ChatID: id,
		Status: subscriptions.StatusActive, Topics: topics, TZ: "Europe/Vilnius"}
	if err := f.subs.Put(context.Background(), chat); err != nil {
		t.Fatal(err)
	}
	return chat
}

func TestLinkEmail(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	chat := chatSub(t, f, 77, "belarus", "iran drones")
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
	if err != nil || reader.Status != subscriptions.StatusPending || reader.TZ != "Europe/Vilnius" || reader.LinkedTo != "" {
		t.Fatalf("reader before confirming: %+v %v", reader, err)
	}
	// The web page verifies the token and confirms its subject.
	if _, err := f.reg.Confirm(ctx, reader.ID+" 00ff"); !errors.Is(err, signup.ErrUsed) {
		t.Fatalf("Confirm of a ticket never issued = %v, want ErrUsed", err)
	}
	tk := ticket(t, link, token.Link)
	if p, err := f.reg.Lookup(ctx, tk); err != nil || p.Chat != chat.ID || strings.Join(p.Topics, ",") != "belarus,iran drones" {
		t.Fatalf("Lookup = %+v, %v", p, err)
	}
	if _, err := f.reg.Confirm(ctx, tk); err != nil {
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
	// The link, used again, confirms nothing more.
	if _, err := f.reg.Confirm(ctx, tk); !errors.Is(err, signup.ErrUsed) {
		t.Fatalf("second Confirm = %v, want ErrUsed", err)
	}
}

// A suspended address gets no further confirmations: it bounced.
func TestLinkEmailSuspended(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	chat := chatSub(t, f, 78, "belarus")
	gone := &subscriptions.Subscriber{ID: subscriptions.NewReaderID(), Kind: subscriptions.KindEmail, Email: "gone@example.org",
		Status: subscriptions.StatusSuspended, Topics: []string{"x"}}
	if err := f.subs.Put(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.LinkEmail(ctx, chat, "gone@example.org"); err != nil {
		t.Fatal(err)
	}
	f.idle(t)
	if got := f.smtp.MessagesTo("gone@example.org"); len(got) != 0 {
		t.Fatalf("%d confirmations to a suspended address", len(got))
	}
	if s, _ := f.subs.Get(ctx, gone.ID); s.Status != subscriptions.StatusSuspended || s.LinkedTo != "" {
		t.Fatalf("suspended reader changed: %+v", s)
	}
}

// Subscribe mails what fits the address: a confirmation to a new or
// pending one, the manage link to an active one, nothing to a suspended
// one; and it changes no reader before a link is used.
func TestSubscribe(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := signup.Prefs{Topics: []string{"belarus"}, Frequency: "daily", Hour: 7, TZ: "UTC"}
	if err := f.reg.Subscribe(ctx, "new@example.org", p); err != nil {
		t.Fatal(err)
	}
	if msg := f.smtp.WaitMessagesTo(5*time.Second, "new@example.org", 1)[0]; msg.Link("https://herald.test/confirm?token=") == "" {
		t.Fatalf("confirmation without its link:\n%s", msg.Text)
	}
	if sub, err := f.subs.ByEmail(ctx, "new@example.org"); err != nil || sub.Status != subscriptions.StatusPending || len(sub.Topics) != 0 {
		t.Fatalf("reader after Subscribe(new) = %+v, %v; want pending, holding no topics yet", sub, err)
	}

	active := &subscriptions.Subscriber{ID: subscriptions.NewReaderID(), Kind: subscriptions.KindEmail, Email: "old@example.org",
		Status: subscriptions.StatusActive, Topics: []string{"kept"}}
	if err := f.subs.Put(ctx, active); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.Subscribe(ctx, "old@example.org", p); err != nil {
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
	if err := f.reg.Subscribe(ctx, "gone@example.org", p); err != nil {
		t.Fatal(err)
	}
	f.idle(t)
	if n := len(f.smtp.MessagesTo("gone@example.org")); n != 0 {
		t.Fatalf("%d emails to a suspended address", n)
	}
}

// At most DailyLimit sign-up emails per address and per chat in 24 hours,
// whatever asked for them; the rest are accepted as usual and dropped.
func TestDailyLimit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := time.Now()
	f.reg.Now = func() time.Time { return now }
	p := signup.Prefs{Topics: []string{"belarus"}, Frequency: "daily", Hour: 7, TZ: "UTC"}

	// One address, from the web and from Telegram, in any spelling.
	chat := chatSub(t, f, 90, "weather")
	for _, step := range []func() error{
		func() error { return f.reg.Subscribe(ctx, "ana@example.org", p) },
		func() error { return f.reg.LinkEmail(ctx, chat, "ana@example.org") },
		func() error { return f.reg.Subscribe(ctx, "Ana@Example.org", p) },
		func() error { return f.reg.LinkEmail(ctx, chat, "ana@example.org") },
		func() error { return f.reg.Subscribe(ctx, "ana@example.org", p) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	f.idle(t)
	if n := len(f.smtp.MessagesTo("ana@example.org")); n != signup.DailyLimit {
		t.Fatalf("one address got %d sign-up emails in a day, want %d", n, signup.DailyLimit)
	}

	// One chat, many addresses: the chat already asked twice above.
	for _, a := range []string{"b1@example.org", "b2@example.org", "b3@example.org"} {
		if err := f.reg.LinkEmail(ctx, chat, a); err != nil {
			t.Fatal(err)
		}
	}
	f.idle(t)
	got := len(f.smtp.MessagesTo("b1@example.org")) + len(f.smtp.MessagesTo("b2@example.org")) + len(f.smtp.MessagesTo("b3@example.org"))
	if got != 1 {
		t.Fatalf("one chat got %d more confirmations sent after its first two, want 1", got)
	}

	// A day after the first, the address may be mailed again.
	now = now.Add(24*time.Hour + time.Second)
	if err := f.reg.Subscribe(ctx, "ana@example.org", p); err != nil {
		t.Fatal(err)
	}
	f.smtp.WaitMessagesTo(5*time.Second, "ana@example.org", signup.DailyLimit+1)
}

// A stranger's sign-up for a pending address does not change what the
// first email's link confirms (issue 14: museum* listed, weather
// confirmed).
func TestEachLinkConfirmsWhatItsEmailListed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.reg.Subscribe(ctx, "owner@example.org", signup.Prefs{Topics: []string{"museum*"}, Frequency: "weekly", Hour: 9, TZ: "Europe/Vilnius"}); err != nil {
		t.Fatal(err)
	}
	first := f.smtp.WaitMessagesTo(5*time.Second, "owner@example.org", 1)[0]
	if err := f.reg.Subscribe(ctx, "owner@example.org", signup.Prefs{Topics: []string{"weather"}, Frequency: "instant", Hour: 3, TZ: "UTC"}); err != nil {
		t.Fatal(err)
	}
	second := f.smtp.WaitMessagesTo(5*time.Second, "owner@example.org", 2)[1]
	if !strings.Contains(first.Text, "museum*") || strings.Contains(first.Text, "weather") || !strings.Contains(second.Text, "weather") {
		t.Fatalf("emails list the wrong topics:\nfirst:\n%s\nsecond:\n%s", first.Text, second.Text)
	}
	sub, err := f.reg.Confirm(ctx, ticket(t, first.Link("https://herald.test/confirm?token="), token.Confirm))
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != subscriptions.StatusActive || strings.Join(sub.Topics, ",") != "museum*" || sub.Frequency != "weekly" || sub.Hour != 9 || sub.TZ != "Europe/Vilnius" {
		t.Fatalf("the first link confirmed %+v; want museum*, weekly at 9 in Vilnius", sub)
	}
	// The stranger's link, opened later, no longer changes anything.
	if _, err := f.reg.Confirm(ctx, ticket(t, second.Link("https://herald.test/confirm?token="), token.Confirm)); !errors.Is(err, signup.ErrUsed) {
		t.Fatalf("the second link after the first = %v, want ErrUsed", err)
	}
	if sub, _ := f.subs.Get(ctx, sub.ID); strings.Join(sub.Topics, ",") != "museum*" {
		t.Fatalf("topics now %q", sub.Topics)
	}
}

// A sign-up's emails are in its language: the confirmation, the manage
// link of a reader who chose a language (theirs wins over the request's),
// and the confirmation of a Telegram chat's /email (the chat's); the new
// reader keeps the language for later emails.
func TestSignupLanguage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := signup.Prefs{Topics: []string{"беларусь"}, Frequency: "daily", Hour: 7, TZ: "UTC", Lang: "ru"}
	if err := f.reg.Subscribe(ctx, "ru@example.org", p); err != nil {
		t.Fatal(err)
	}
	m := f.smtp.WaitMessagesTo(5*time.Second, "ru@example.org", 1)[0]
	if m.Subject != "Подтвердите подписку на дайджест «Herald»" || !strings.Contains(m.HTML, `<html lang="ru">`) {
		t.Errorf("confirmation of a Russian sign-up: %q\n%.200s", m.Subject, m.HTML)
	}
	if sub, err := f.subs.ByEmail(ctx, "ru@example.org"); err != nil || sub.Lang != "ru" {
		t.Errorf("new reader's language = %+v, %v", sub, err)
	}

	active := &subscriptions.Subscriber{ID: subscriptions.NewReaderID(), Kind: subscriptions.KindEmail, Email: "en@example.org",
		Status: subscriptions.StatusActive, Topics: []string{"kept"}, Lang: "en"}
	if err := f.subs.Put(ctx, active); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.Subscribe(ctx, "en@example.org", p); err != nil {
		t.Fatal(err)
	}
	if m := f.smtp.WaitMessagesTo(5*time.Second, "en@example.org", 1)[0]; m.Subject != "Your Herald digest settings" {
		t.Errorf("manage link of an English reader signing up in Russian: %q", m.Subject)
	}

	chat := chatSub(t, f, 42, "дроны")
	if _, err := f.subs.Update(ctx, chat.ID, func(s *subscriptions.Subscriber) error { s.Lang = "ru"; return nil }); err != nil {
		t.Fatal(err)
	}
	chat, _ = f.subs.Get(ctx, chat.ID)
	if err := f.reg.LinkEmail(ctx, chat, "tg@example.org"); err != nil {
		t.Fatal(err)
	}
	if m := f.smtp.WaitMessagesTo(5*time.Second, "tg@example.org", 1)[0]; !strings.HasPrefix(m.Subject, "Подтвердите подписку на дайджесты") {
		t.Errorf("confirmation of a Russian chat's /email: %q", m.Subject)
	}
}

// TestSignupKeepsLanguage: the language of the page a reader signed up
// on is theirs once they confirm; a later sign-up in another language
// confirms that one, an older link its own.
func TestSignupKeepsLanguage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.reg.Subscribe(ctx, "lang@example.org", signup.Prefs{Topics: []string{"minsk"}, Frequency: "daily", Hour: 8, TZ: "UTC", Lang: "ru"}); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.Subscribe(ctx, "lang@example.org", signup.Prefs{Topics: []string{"riga"}, Frequency: "daily", Hour: 8, TZ: "UTC", Lang: "en"}); err != nil {
		t.Fatal(err)
	}
	msgs := f.smtp.WaitMessagesTo(5*time.Second, "lang@example.org", 2)
	// The queue may send them in either order; the Russian one is the first's.
	if strings.Contains(msgs[1].HTML, `<html lang="ru">`) {
		msgs[0], msgs[1] = msgs[1], msgs[0]
	}
	first := ticket(t, msgs[0].Link("https://herald.test/confirm?token="), token.Confirm)
	p, err := f.reg.Lookup(ctx, first)
	if err != nil || p.Lang != "ru" || p.Reader.Lang != "ru" {
		t.Fatalf("the first link: %+v %v; want Russian, and the reader created in Russian", p, err)
	}
	sub, err := f.reg.Confirm(ctx, ticket(t, msgs[1].Link("https://herald.test/confirm?token="), token.Confirm))
	if err != nil || sub.Lang != "en" || sub.Topics[0] != "riga" {
		t.Fatalf("confirmed the second link: %+v %v; want English and riga", sub, err)
	}
}
