package mailer_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/mailer"
	"github.com/herald-news/herald/mailer/smtptest"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

// clock is a time the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	st    *store.Store
	subs  *subscriptions.Store
	smtp  *smtptest.Server
	tr    *mailer.SMTP
	m     *mailer.Mailer
	clock *clock
}

func newFixture(t testing.TB) *fixture {
	f := &fixture{st: storetest.New(t), smtp: smtptest.New(t), clock: &clock{t: time.Date(2030, 3, 11, 12, 0, 0, 0, time.UTC)}}
	f.subs = subscriptions.NewStore(f.st)
	tr, err := mailer.NewSMTP(f.smtp.URL(), "Herald <news@herald.test>")
	if err != nil {
		t.Fatal(err)
	}
	f.tr = tr
	f.m = mailer.New(f.st, f.subs, tr, "https://herald.test", []byte("test-secret"), slog.New(slog.DiscardHandler))
	f.m.Now = f.clock.Now
	return f
}

func (f *fixture) reader(t testing.TB, email, freq string, hour int, tz string, topics ...string) *subscriptions.Subscriber {
	s := &subscriptions.Subscriber{ID: subscriptions.NewReaderID(), Kind: subscriptions.KindEmail, Email: email,
		Status: subscriptions.StatusActive, Topics: topics, Frequency: freq, Hour: hour, TZ: tz}
	if err := f.subs.Put(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// publish stores an article and queues it for sub under topic, as the
// matcher does.
func (f *fixture) publish(t testing.TB, sub, topic, title string) {
	ctx := context.Background()
	u := "https://news.example/" + strings.ReplaceAll(strings.ToLower(title), " ", "-")
	pub := f.clock.Now().Add(-time.Hour).UTC()
	a := article.Article{ID: article.IDFor(u), URL: u, Title: title, Published: &pub, Source: "Example News",
		Summary: "What happened, in two sentences. " + title + "."}
	b, _ := json.Marshal(a)
	if err := f.st.Redis.Set(ctx, articles.Key(f.st, a.ID), b, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	items := []delivery.Digest{{Sub: sub, Item: delivery.Item{Article: a.ID, Topic: topic, At: f.clock.Now()}}}
	if _, _, err := delivery.EnqueueBatch(ctx, f.st, a.ID, nil, items); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) send(t testing.TB, force bool) int {
	t.Helper()
	n, err := f.m.SendDigests(context.Background(), force)
	if err != nil {
		t.Logf("SendDigests: %v", err)
	}
	return n
}

func TestDue(t *testing.T) {
	vilnius, _ := time.LoadLocation("Europe/Vilnius")
	ny, _ := time.LoadLocation("America/New_York")
	at := func(loc *time.Location, y int, mo time.Month, d, h, mi int) time.Time {
		return time.Date(y, mo, d, h, mi, 0, 0, loc)
	}
	daily := &subscriptions.Subscriber{Frequency: "daily", Hour: 8, TZ: "Europe/Vilnius"}
	weekly := &subscriptions.Subscriber{Frequency: "weekly", Hour: 8, TZ: "Europe/Vilnius"}
	dst := &subscriptions.Subscriber{Frequency: "daily", Hour: 7, TZ: "America/New_York"}
	cases := []struct {
		name string
		sub  *subscriptions.Subscriber
		last time.Time
		now  time.Time
		want bool
	}{
		{"before the hour", daily, time.Time{}, at(vilnius, 2030, 3, 11, 7, 59), false},
		{"at the hour", daily, time.Time{}, at(vilnius, 2030, 3, 11, 8, 0), true},
		{"within the grace hour", daily, time.Time{}, at(vilnius, 2030, 3, 11, 8, 59), true},
		{"after the grace hour", daily, time.Time{}, at(vilnius, 2030, 3, 11, 9, 0), false},
		{"same slot twice", daily, at(vilnius, 2030, 3, 11, 8, 1), at(vilnius, 2030, 3, 11, 8, 30), false},
		{"next day", daily, at(vilnius, 2030, 3, 11, 8, 1), at(vilnius, 2030, 3, 12, 8, 0), true},
		{"8:00 UTC is not 8:00 in Vilnius", daily, time.Time{}, time.Date(2030, 3, 11, 8, 0, 0, 0, time.UTC), false},
		{"weekly first", weekly, time.Time{}, at(vilnius, 2030, 3, 11, 8, 5), true},
		{"weekly six days on", weekly, at(vilnius, 2030, 3, 11, 8, 5), at(vilnius, 2030, 3, 17, 8, 5), false},
		{"weekly seven days on", weekly, at(vilnius, 2030, 3, 11, 8, 5), at(vilnius, 2030, 3, 18, 8, 0), true},
		{"across the DST change", dst, at(ny, 2030, 3, 9, 7, 0), at(ny, 2030, 3, 10, 7, 0), true},
		{"instant", &subscriptions.Subscriber{Frequency: "instant"}, time.Now(), time.Now(), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := mailer.Due(c.sub, c.last, c.now); got != c.want {
				t.Fatalf("Due(last %v, now %v) = %v, want %v", c.last, c.now, got, c.want)
			}
		})
	}
}

func TestRetryAndBounce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.reader(t, "flaky@example.org", "instant", 0, "UTC", "belarus")
	f.publish(t, r.ID, "belarus", "Belarus news")
	f.clock.Add(2 * time.Minute)

	// 4xx: nothing leaves Redis, and the next try waits.
	f.smtp.FailAt(smtptest.AtRcpt, 451, 1)
	if n := f.send(t, false); n != 0 {
		t.Fatalf("sent %d with a 451", n)
	}
	if items, _ := delivery.Items(ctx, f.st, r.ID); len(items) != 1 {
		t.Fatalf("%d items left after a 451, want 1", len(items))
	}
	if n := f.send(t, false); n != 0 {
		t.Fatalf("retried at once instead of backing off")
	}
	f.clock.Add(61 * time.Second)
	if n := f.send(t, false); n != 1 {
		t.Fatalf("sent %d after the back-off, want 1", n)
	}
	if items, _ := delivery.Items(ctx, f.st, r.ID); len(items) != 0 {
		t.Fatalf("%d items left after acceptance", len(items))
	}

	// 5xx three times: suspended, and its items dropped.
	bad := f.reader(t, "gone@example.org", "instant", 0, "UTC", "belarus")
	f.smtp.FailRecipient("gone@example.org", 550)
	f.publish(t, bad.ID, "belarus", "More Belarus news")
	for i := range mailer.HardBounceLimit {
		f.clock.Add(7 * time.Hour)
		f.send(t, false)
		s, _ := f.subs.Get(ctx, bad.ID)
		if s.Bounces != i+1 {
			t.Fatalf("after bounce %d: Bounces = %d", i+1, s.Bounces)
		}
	}
	s, _ := f.subs.Get(ctx, bad.ID)
	if s.Status != subscriptions.StatusSuspended {
		t.Fatalf("status after %d hard bounces = %s", mailer.HardBounceLimit, s.Status)
	}
	f.clock.Add(7 * time.Hour)
	f.send(t, false)
	if items, _ := delivery.Items(ctx, f.st, bad.ID); len(items) != 0 {
		t.Fatalf("suspended reader still has %d items", len(items))
	}
}

// A connection dropped mid-send: the email in flight stays queued; the
// others go out over a new connection.
func TestDroppedConnection(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.m.Connections = 1
	var ids []string
	for i := range 5 {
		r := f.reader(t, fmt.Sprintf("r%d@example.org", i), "instant", 0, "UTC", "belarus")
		f.publish(t, r.ID, "belarus", fmt.Sprintf("Story %d", i))
		ids = append(ids, r.ID)
	}
	f.clock.Add(2 * time.Minute)
	f.smtp.DropNext(1)
	if n := f.send(t, false); n != 4 {
		t.Fatalf("sent %d, want 4 (one dropped)", n)
	}
	left := 0
	for _, id := range ids {
		items, _ := delivery.Items(ctx, f.st, id)
		left += len(items)
	}
	if left != 1 {
		t.Fatalf("%d items left, want the dropped email's 1", left)
	}
	f.clock.Add(2 * time.Minute)
	if n := f.send(t, false); n != 1 {
		t.Fatalf("resent %d, want 1", n)
	}
	if got := len(f.smtp.Messages()); got != 5 {
		t.Fatalf("server accepted %d messages, want 5 (no repeats)", got)
	}
}

// Digests share few connections: many messages over each.
func TestConnectionsReused(t *testing.T) {
	f := newFixture(t)
	f.m.Connections = 3
	for i := range 30 {
		r := f.reader(t, fmt.Sprintf("r%d@example.org", i), "daily", 13, "UTC", "belarus")
		f.publish(t, r.ID, "belarus", fmt.Sprintf("Story %d", i))
	}
	f.clock.Set(time.Date(2030, 3, 11, 13, 0, 0, 0, time.UTC))
	if n := f.send(t, false); n != 30 {
		t.Fatalf("sent %d, want 30", n)
	}
	if c := f.smtp.Connections(); c > 3 {
		t.Fatalf("%d connections for 30 emails, want at most 3", c)
	}
}

func TestRate(t *testing.T) {
	f := newFixture(t)
	f.m.Rate = 20
	for i := range 6 {
		r := f.reader(t, fmt.Sprintf("r%d@example.org", i), "instant", 0, "UTC", "x")
		f.publish(t, r.ID, "x", fmt.Sprintf("Story %d", i))
	}
	start := time.Now()
	if n := f.send(t, true); n != 6 {
		t.Fatalf("sent %d, want 6", n)
	}
	// Six sends at 20/s are spaced 50 ms apart: at least 250 ms in all.
	if d := time.Since(start); d < 240*time.Millisecond {
		t.Fatalf("6 emails at 20/s took %s", d)
	}
}

func TestHeaderInjection(t *testing.T) {
	f := newFixture(t)
	for _, m := range []*mailer.Message{
		{To: "a@example.org\r\nBcc: evil@example.org", Subject: "hi", Text: "x"},
		{To: "a@example.org", Subject: "hi\r\nBcc: evil@example.org", Text: "x"},
		{To: "a@example.org", Subject: "hi\nBcc: evil@example.org", Text: "x"},
		{To: "a@example.org", Subject: "hi", Text: "x", Unsubscribe: "https://h.test/u\r\nBcc: evil@example.org"},
	} {
		err := f.tr.Send(context.Background(), []*mailer.Message{m})[0]
		if err == nil {
			t.Errorf("message with a line break in a header was sent: %+v", m)
		}
		if mailer.IsTemporary(err) {
			t.Errorf("header error counted as temporary: %v", err)
		}
	}
	// A topic with control characters reaches the subject as one line.
	r := f.reader(t, "reader@example.org", "instant", 0, "UTC", "belarus")
	f.publish(t, r.ID, "belarus\u2028Bcc: evil@example.org\x0b", "Title\r\nBcc: evil@example.org")
	f.send(t, true)
	for _, msg := range f.smtp.Messages() {
		for _, to := range msg.To {
			if strings.Contains(to, "evil") {
				t.Fatalf("injected recipient %q", to)
			}
		}
		if msg.Header.Get("Bcc") != "" {
			t.Fatalf("a Bcc header was added: %q", msg.Header.Get("Bcc"))
		}
	}
	if len(f.smtp.Messages()) != 1 {
		t.Fatalf("%d messages, want the one digest", len(f.smtp.Messages()))
	}
}

func TestDKIM(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaPub, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for _, c := range []struct {
		name   string
		key    any
		record string
	}{
		{"rsa", rsaKey, "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(rsaPub)},
		{"ed25519", edKey, "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(edPub)},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			der, _ := x509.MarshalPKCS8PrivateKey(c.key)
			keyFile := filepath.Join(t.TempDir(), "dkim.pem")
			if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
				t.Fatal(err)
			}
			signer, err := mailer.NewDKIM("herald.test", "s1", keyFile)
			if err != nil {
				t.Fatal(err)
			}
			f.tr.DKIM = signer
			r := f.reader(t, "reader@example.org", "instant", 0, "UTC", "belarus")
			f.publish(t, r.ID, "belarus", "Belarus news")
			if f.send(t, true) != 1 {
				t.Fatal("digest not sent")
			}
			msg := f.smtp.Messages()[0]
			vs, err := dkim.VerifyWithOptions(strings.NewReader(string(msg.Data)), &dkim.VerifyOptions{
				LookupTXT: func(domain string) ([]string, error) {
					if domain != "s1._domainkey.herald.test" {
						return nil, errors.New("no such record " + domain)
					}
					return []string{c.record}, nil
				},
			})
			if err != nil || len(vs) != 1 || vs[0].Err != nil {
				t.Fatalf("DKIM verification: %v %v\n%s", err, vs, msg.Data[:min(len(msg.Data), 1500)])
			}
			signed := strings.ToLower(strings.Join(vs[0].HeaderKeys, ":"))
			for _, h := range []string{"from", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post"} {
				if !strings.Contains(signed, h) {
					t.Errorf("DKIM signature does not cover %s (h=%s)", h, signed)
				}
			}
		})
	}
}
