package mailer_test

import (
	"bytes"
	"context"
	"log/slog"
	"mime"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/mailer"
	"github.com/herald-news/herald/mailer/smtptest"
	"github.com/herald-news/herald/subscriptions"
)

func (f *fixture) pendingReader(t *testing.T, email string) *subscriptions.Subscriber {
	t.Helper()
	s := &subscriptions.Subscriber{ID: subscriptions.NewReaderID(), Kind: subscriptions.KindEmail, Email: email,
		Status: subscriptions.StatusPending, Frequency: "daily", TZ: "UTC"}
	if err := f.subs.Put(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fixture) queue(t *testing.T, sub *subscriptions.Subscriber) {
	t.Helper()
	c := &mailer.Confirmation{Kind: mailer.ConfirmSignup, Sub: sub.ID, To: sub.Email, Ticket: sub.ID + " 0a0b",
		Expires: f.clock.Now().Add(mailer.ConfirmValidity), Topics: []string{"belarus"}, Frequency: "daily"}
	if err := f.m.QueueConfirmation(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) confirmations(t *testing.T) int {
	t.Helper()
	n, err := f.m.SendConfirmations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) queued(t *testing.T) int64 {
	t.Helper()
	n, err := f.m.PendingConfirmations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A greylisting server's 4xx delays a confirmation, over hours if need
// be; it is not dropped.
func TestConfirmationDeferred(t *testing.T) {
	f := newFixture(t)
	r := f.pendingReader(t, "grey@example.org")
	f.smtp.FailAt(smtptest.AtRcpt, 451, 3)
	f.queue(t, r)
	for i, wait := range []time.Duration{0, time.Minute, 2 * time.Minute} {
		f.clock.Add(wait)
		if n := f.confirmations(t); n != 1 {
			t.Fatalf("try %d: handled %d, want 1", i+1, n)
		}
		if got := len(f.smtp.Rejections()); got != i+1 {
			t.Fatalf("try %d: %d refusals at the server", i+1, got)
		}
		// Not due again before its pause is over.
		if n := f.confirmations(t); n != 0 {
			t.Fatalf("try %d: tried again at once", i+1)
		}
		if f.queued(t) != 1 {
			t.Fatalf("try %d: the confirmation left the queue", i+1)
		}
	}
	f.clock.Add(4*time.Minute - time.Second)
	if n := f.confirmations(t); n != 0 {
		t.Fatal("tried before its 4-minute pause was over")
	}
	f.clock.Add(time.Second)
	if n := f.confirmations(t); n != 1 {
		t.Fatal("not tried after its pause")
	}
	m := f.smtp.WaitMessagesTo(5*time.Second, "grey@example.org", 1)[0]
	if m.Link("https://herald.test/confirm?token=") == "" {
		t.Fatalf("delivered confirmation has no link:\n%s", m.Text)
	}
	if f.queued(t) != 0 {
		t.Fatal("a delivered confirmation stayed queued")
	}
	if s, _ := f.subs.Get(context.Background(), r.ID); s.Bounces != 0 {
		t.Fatalf("4xx counted as bounces: %d", s.Bounces)
	}
}

// A confirmation deferred for ConfirmRetryFor is given up.
func TestConfirmationGivenUp(t *testing.T) {
	f := newFixture(t)
	r := f.pendingReader(t, "full@example.org")
	f.smtp.FailRecipient("full@example.org", 452)
	f.queue(t, r)
	tries := 0
	for f.queued(t) > 0 {
		if tries > 100 {
			t.Fatal("still queued after 100 tries")
		}
		tries += f.confirmations(t)
		f.clock.Add(time.Hour)
	}
	// A minute, then doubling to an hour, for two days: 6 growing pauses
	// (1+2+4+8+16+32 minutes) and then hourly.
	if tries < 45 || tries > 50 {
		t.Fatalf("given up after %d tries, want about 47 over two days", tries)
	}
}

// A 5xx is a hard bounce of the reader, as for a digest, and the
// confirmation is not tried again.
func TestConfirmationBounce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.pendingReader(t, "gone@example.org")
	f.smtp.FailRecipient("gone@example.org", 550)
	for i := range mailer.HardBounceLimit {
		f.queue(t, r)
		if n := f.confirmations(t); n != 1 {
			t.Fatalf("handled %d", n)
		}
		if f.queued(t) != 0 {
			t.Fatal("a refused confirmation stayed queued")
		}
		s, _ := f.subs.Get(ctx, r.ID)
		if s.Bounces != i+1 {
			t.Fatalf("after refusal %d: Bounces = %d", i+1, s.Bounces)
		}
	}
	if s, _ := f.subs.Get(ctx, r.ID); s.Status != subscriptions.StatusSuspended {
		t.Fatalf("status after %d refused confirmations = %s", mailer.HardBounceLimit, s.Status)
	}
}

// A subject in Cyrillic decodes to exactly itself: no leading space, no
// space between its encoded words.
func TestSubjectEncoding(t *testing.T) {
	f := newFixture(t)
	f.m.SiteName = "Вестник"
	r := f.reader(t, "ru@example.org", "instant", 0, "UTC", "беларусь")
	f.publish(t, r.ID, "беларусь", "Новости Беларуси")
	f.clock.Add(2 * time.Minute)
	if n := f.send(t, false); n != 1 {
		t.Fatal("digest not sent")
	}
	m := f.smtp.WaitMessagesTo(5*time.Second, "ru@example.org", 1)[0]
	want := "Вестник: 1 new article on Беларусь"
	raw := rawField(t, m.Data, "Subject")
	got, err := new(mime.WordDecoder).DecodeHeader(unfold(raw))
	if err != nil || got != want {
		t.Fatalf("Subject %q decodes to %q (%v), want %q", raw, got, err, want)
	}
	for _, line := range strings.Split(raw, "\r\n") {
		if len(line) > 78 {
			t.Errorf("Subject line of %d characters: %q", len(line), line)
		}
	}
	// A long one folds into several encoded words, and still decodes exactly.
	long := strings.Repeat("военное сотрудничество ", 6)
	r2 := f.reader(t, "ru2@example.org", "instant", 0, "UTC", "военное")
	f.publish(t, r2.ID, `"`+strings.TrimSpace(long)+`"`, "Сотрудничество")
	f.clock.Add(2 * time.Minute)
	f.send(t, false)
	m = f.smtp.WaitMessagesTo(5*time.Second, "ru2@example.org", 1)[0]
	raw = rawField(t, m.Data, "Subject")
	got, _ = new(mime.WordDecoder).DecodeHeader(unfold(raw))
	if strings.Count(raw, "\r\n") < 2 || !strings.HasPrefix(got, "Вестник: 1 new article on военное сотрудничество") || strings.HasPrefix(got, " ") {
		t.Fatalf("long Subject %q decodes to %q", raw, got)
	}
}

// unfold reads a field's body as a strict reader does (Python's email
// package, for one): the white space after the colon goes, and unfolding
// takes out the line breaks only (RFC 5322, section 2.2.3), so a fold
// right after the colon leaves a space in front of the text.
func unfold(raw string) string {
	return strings.ReplaceAll(strings.TrimLeft(raw, " \t"), "\r\n", "")
}

// rawField returns the raw body of a header field, folding and all.
func rawField(t *testing.T, data []byte, name string) string {
	t.Helper()
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	lines := strings.Split(string(head), "\r\n")
	for i, l := range lines {
		body, ok := strings.CutPrefix(l, name+":")
		if !ok {
			continue
		}
		for _, next := range lines[i+1:] {
			if next == "" || (next[0] != ' ' && next[0] != '\t') {
				break
			}
			body += "\r\n" + next
		}
		return body
	}
	t.Fatalf("no %s field in:\n%s", name, head)
	return ""
}

// Digests head each topic in words, with the query under it, with the
// site's name and its operator; a language Herald has no catalogue for
// gets English, and says so in its lang attribute.
func TestDigestContent(t *testing.T) {
	f := newFixture(t)
	f.m.SiteName, f.m.Operator = "Vestnik", "Example Newsroom"
	r := f.reader(t, "lt@example.org", "instant", 0, "UTC", `"military cooperation" iran -israel`)
	ctx := context.Background()
	if _, err := f.subs.Update(ctx, r.ID, func(s *subscriptions.Subscriber) error { s.Lang = "lt"; return nil }); err != nil {
		t.Fatal(err)
	}
	f.publish(t, r.ID, `"military cooperation" iran -israel`, "Iran signs a military cooperation pact")
	other := f.reader(t, "en@example.org", "instant", 0, "UTC", "belarus")
	f.publish(t, other.ID, "belarus", "Belarus news")
	f.clock.Add(2 * time.Minute)
	if n := f.send(t, false); n != 2 {
		t.Fatalf("sent %d digests, want 2", n)
	}
	m := f.smtp.WaitMessagesTo(5*time.Second, "lt@example.org", 1)[0]
	if !strings.Contains(m.HTML, `<html lang="en">`) {
		t.Errorf("HTML lang is not English, which the email is in:\n%.300s", m.HTML)
	}
	for _, part := range []string{m.Text, m.HTML} {
		if !strings.Contains(part, "military cooperation · Iran, not Israel") || !strings.Contains(part, "Vestnik") || !strings.Contains(part, "Example Newsroom") {
			t.Errorf("digest part lacks the heading, the site or its operator:\n%s", part)
		}
	}
	if !strings.Contains(m.Text, "(\"military cooperation\" iran -israel)") || !strings.Contains(m.HTML, "monospace") ||
		!strings.Contains(m.HTML, "&#34;military cooperation&#34; iran -israel") {
		t.Errorf("the query as kept is not under the heading:\n%s\n%s", m.Text, m.HTML)
	}
	if s := m.HeaderValue("Subject"); s != "Vestnik: 1 new article on military cooperation · Iran, not Israel" {
		t.Errorf("Subject = %q", s)
	}
	if en := f.smtp.WaitMessagesTo(5*time.Second, "en@example.org", 1)[0]; !strings.Contains(en.HTML, `<html lang="en">`) {
		t.Errorf("a reader without a language did not get English")
	}
}

// A mail server that cannot be reached defers the whole batch, as a 4xx.
func TestConfirmationServerDown(t *testing.T) {
	f := newFixture(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	tr, err := mailer.NewSMTP("smtp://"+addr+"?tls=none", "Herald <news@herald.test>")
	if err != nil {
		t.Fatal(err)
	}
	f.m = mailer.New(f.st, f.subs, tr, "https://herald.test", []byte("test-secret"), slog.New(slog.DiscardHandler))
	f.m.Now = f.clock.Now
	f.queue(t, f.pendingReader(t, "a@example.org"))
	f.queue(t, f.pendingReader(t, "b@example.org"))
	if n := f.confirmations(t); n != 2 {
		t.Fatalf("handled %d, want 2", n)
	}
	if f.queued(t) != 2 {
		t.Fatal("a confirmation was dropped while the server was down")
	}
	if n := f.confirmations(t); n != 0 {
		t.Fatal("tried again at once")
	}
}
