package mailer_test

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/bounce"
	"github.com/herald-news/herald/mailer"
	"github.com/herald-news/herald/mailer/smtptest"
	"github.com/herald-news/herald/subscriptions"
)

// outcomes keeps what Noted was told.
type outcomes struct {
	mu  sync.Mutex
	got map[string]int
}

func (o *outcomes) note(out mailer.Outcome, via string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.got == nil {
		o.got = map[string]int{}
	}
	o.got[string(out)+"/"+via]++
}

func (o *outcomes) count(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.got[key]
}

func withReturns(t *testing.T, f *fixture) (*bounce.Signer, *outcomes) {
	t.Helper()
	signer := bounce.NewSigner([]byte("test-secret"), "bounces.herald.test")
	f.tr.Returns = signer
	o := &outcomes{}
	f.m.Noted = o.note
	return signer, o
}

// sendAndReport sends r a digest, which the relay accepts, and returns the
// bounce address it went out with, verified.
func sendAndReport(t *testing.T, f *fixture, signer *bounce.Signer, r *subscriptions.Subscriber, title string) bounce.Ref {
	t.Helper()
	f.publish(t, r.ID, "belarus", title)
	before := len(f.smtp.MessagesTo(r.Email))
	if n := f.send(t, true); n != 1 {
		t.Fatalf("digest %q: sent %d, want 1", title, n)
	}
	msgs := f.smtp.MessagesTo(r.Email)
	if len(msgs) != before+1 {
		t.Fatalf("%d messages to %s, want %d", len(msgs), r.Email, before+1)
	}
	msg := msgs[len(msgs)-1]
	ref, err := signer.Verify(msg.From, time.Now())
	if err != nil {
		t.Fatalf("envelope sender %q: %v", msg.From, err)
	}
	if ref.Reader != r.ID {
		t.Fatalf("envelope sender names %s, want %s", ref.Reader, r.ID)
	}
	if from, err := mail.ParseAddress(msg.Header.Get("From")); err != nil || from.Address != "news@herald.test" {
		t.Fatalf("From: header %q changed with the envelope sender", msg.Header.Get("From"))
	}
	return ref
}

var hard = &bounce.Report{Kind: bounce.Failed, Status: "5.1.1", Detail: "smtp; 550 5.1.1 user unknown"}

// The case a smarthost makes: every digest is accepted, and each bounces
// later by DSN. The accepted sends in between do not reset the count.
func TestBouncesAfterAcceptanceSuspend(t *testing.T) {
	f := newFixture(t)
	signer, o := withReturns(t, f)
	ctx := context.Background()
	r := f.reader(t, "gone@example.org", "instant", 0, "UTC", "belarus")
	var refs []bounce.Ref
	for i := range mailer.HardBounceLimit {
		ref := sendAndReport(t, f, signer, r, "Story "+string(rune('A'+i)))
		refs = append(refs, ref)
		if i > 0 {
			// The DSN of the previous digest arrives after this one was
			// accepted.
			if err := f.m.Record(ctx, refs[i-1], hard); err != nil {
				t.Fatal(err)
			}
		}
		f.clock.Add(24 * time.Hour)
	}
	s, _ := f.subs.Get(ctx, r.ID)
	if s.Bounces != mailer.HardBounceLimit-1 || s.Status != subscriptions.StatusActive {
		t.Fatalf("after %d accepted sends and %d DSNs: %d bounces, %s", mailer.HardBounceLimit, mailer.HardBounceLimit-1, s.Bounces, s.Status)
	}
	// The same DSN twice (an MTA that did not hear our 250) counts once.
	if err := f.m.Record(ctx, refs[0], hard); err != nil {
		t.Fatal(err)
	}
	if s, _ := f.subs.Get(ctx, r.ID); s.Bounces != mailer.HardBounceLimit-1 {
		t.Fatalf("a repeated DSN was counted again: %d bounces", s.Bounces)
	}
	if err := f.m.Record(ctx, refs[len(refs)-1], hard); err != nil {
		t.Fatal(err)
	}
	s, _ = f.subs.Get(ctx, r.ID)
	if s.Status != subscriptions.StatusSuspended {
		t.Fatalf("after %d DSNs: %s with %d bounces, want suspended", mailer.HardBounceLimit, s.Status, s.Bounces)
	}
	if got := o.count("hard/report"); got != mailer.HardBounceLimit {
		t.Fatalf("noted %d hard bounces by report, want %d", got, mailer.HardBounceLimit)
	}
	// Suspended: nothing more goes out.
	f.publish(t, r.ID, "belarus", "After the suspension")
	before := len(f.smtp.MessagesTo(r.Email))
	f.send(t, true)
	if len(f.smtp.MessagesTo(r.Email)) != before {
		t.Fatal("a digest went to a suspended address")
	}
}

func TestBounceWindowAndProofOfDelivery(t *testing.T) {
	f := newFixture(t)
	signer, _ := withReturns(t, f)
	ctx := context.Background()
	r := f.reader(t, "sometimes@example.org", "instant", 0, "UTC", "belarus")
	ref := sendAndReport(t, f, signer, r, "One")
	if err := f.m.Record(ctx, ref, hard); err != nil {
		t.Fatal(err)
	}
	// A long quiet spell: the next hard bounce starts the count again.
	f.clock.Add(mailer.BounceWindow + 24*time.Hour)
	ref = sendAndReport(t, f, signer, r, "Two")
	if err := f.m.Record(ctx, ref, hard); err != nil {
		t.Fatal(err)
	}
	if s, _ := f.subs.Get(ctx, r.ID); s.Bounces != 1 {
		t.Fatalf("a hard bounce %v after the last one: %d bounces, want 1", mailer.BounceWindow, s.Bounces)
	}
	ref = sendAndReport(t, f, signer, r, "Three")
	if err := f.m.Record(ctx, ref, hard); err != nil {
		t.Fatal(err)
	}
	if s, _ := f.subs.Get(ctx, r.ID); s.Bounces != 2 {
		t.Fatalf("%d bounces, want 2", s.Bounces)
	}
	// A DSN saying the mail arrived is proof: the count starts afresh.
	ref = sendAndReport(t, f, signer, r, "Four")
	if err := f.m.Record(ctx, ref, &bounce.Report{Kind: bounce.Delivered, Status: "2.0.0"}); err != nil {
		t.Fatal(err)
	}
	s, _ := f.subs.Get(ctx, r.ID)
	if s.Bounces != 0 || s.Data["mailer.bounce"] != "" || s.Status != subscriptions.StatusActive {
		t.Fatalf("after a delivery report: %d bounces, record %q, %s", s.Bounces, s.Data["mailer.bounce"], s.Status)
	}
}

func TestReportsThatDoNotBounce(t *testing.T) {
	f := newFixture(t)
	signer, o := withReturns(t, f)
	ctx := context.Background()
	r := f.reader(t, "slow@example.org", "instant", 0, "UTC", "belarus")
	ref := sendAndReport(t, f, signer, r, "One")
	for _, rep := range []*bounce.Report{
		{Kind: bounce.Delayed, Status: "4.4.1"},
		{Kind: bounce.Failed, Status: "4.4.1", Detail: "connection timed out"},
		{Kind: bounce.Relayed, Status: "2.0.0"},
	} {
		if err := f.m.Record(ctx, ref, rep); err != nil {
			t.Fatal(err)
		}
	}
	s, _ := f.subs.Get(ctx, r.ID)
	if s.Bounces != 0 || s.Status != subscriptions.StatusActive {
		t.Fatalf("after a delay, a soft bounce and a relay report: %d bounces, %s", s.Bounces, s.Status)
	}
	if o.count("deferral/report") != 1 || o.count("soft/report") != 1 || o.count("hard/report") != 0 {
		t.Fatalf("noted %v, want one deferral and one soft bounce by report", o.got)
	}
	// A report about a reader who is gone is taken and dropped.
	if err := f.m.Record(ctx, bounce.Ref{Reader: subscriptions.NewReaderID()}, hard); err != nil {
		t.Fatalf("report about a deleted reader: %v", err)
	}
}

func TestComplaintUnsubscribes(t *testing.T) {
	f := newFixture(t)
	signer, o := withReturns(t, f)
	ctx := context.Background()
	r := f.reader(t, "annoyed@example.org", "instant", 0, "UTC", "belarus")
	ref := sendAndReport(t, f, signer, r, "One")
	if err := f.m.Record(ctx, ref, &bounce.Report{Kind: bounce.Complaint, Detail: "abuse"}); err != nil {
		t.Fatal(err)
	}
	if s, _ := f.subs.Get(ctx, r.ID); s.Status != subscriptions.StatusUnsubscribed {
		t.Fatalf("after a complaint the reader is %s", s.Status)
	}
	if o.count("complaint/report") != 1 {
		t.Fatalf("noted %v, want one complaint", o.got)
	}
	f.publish(t, r.ID, "belarus", "Two")
	f.send(t, true)
	if n := len(f.smtp.MessagesTo(r.Email)); n != 1 {
		t.Fatalf("%d messages to a reader who complained, want only the first", n)
	}
}

// At send time: a 4xx is a deferral, a 5xx a hard bounce.
func TestOutcomesAtSend(t *testing.T) {
	f := newFixture(t)
	_, o := withReturns(t, f)
	r := f.reader(t, "flaky@example.org", "instant", 0, "UTC", "belarus")
	f.publish(t, r.ID, "belarus", "One")
	f.smtp.FailAt(smtptest.AtRcpt, 451, 1)
	f.send(t, true)
	f.smtp.FailAt(smtptest.AtRcpt, 550, 1)
	f.send(t, true)
	if o.count("deferral/smtp") != 1 || o.count("hard/smtp") != 1 {
		t.Fatalf("noted %v, want a deferral and a hard bounce at send", o.got)
	}
	if s, _ := f.subs.Get(context.Background(), r.ID); s.Bounces != 1 {
		t.Fatalf("%d bounces after a 550, want 1", s.Bounces)
	}
}

// The envelope and headers a relay and a mailbox provider see.
func TestSMTPClientDetails(t *testing.T) {
	f := newFixture(t)
	withReturns(t, f)
	f.tr.HELO = "mail.herald.test"
	ascii := f.reader(t, "reader@example.org", "instant", 0, "UTC", "belarus")
	intl := f.reader(t, "jürgen@example.de", "instant", 0, "UTC", "belarus")
	f.publish(t, ascii.ID, "belarus", "Ünïcödé in the subject")
	f.publish(t, intl.ID, "belarus", "News")
	if n := f.send(t, true); n != 2 {
		t.Fatalf("sent %d, want 2", n)
	}
	a, i := f.smtp.MessagesTo(ascii.Email), f.smtp.MessagesTo(intl.Email)
	if len(a) != 1 || len(i) != 1 {
		t.Fatalf("messages: %d to the ASCII address, %d to the other", len(a), len(i))
	}
	if a[0].SMTPUTF8 {
		t.Error("SMTPUTF8 asked for on mail between ASCII addresses")
	}
	if !i[0].SMTPUTF8 {
		t.Error("SMTPUTF8 not asked for on mail to a non-ASCII address")
	}
	for _, m := range append(a, i...) {
		if m.Helo != "mail.herald.test" {
			t.Errorf("EHLO %q, want mail.herald.test", m.Helo)
		}
		if got := m.Header.Get("List-Id"); got != "Herald digest <digest.herald.test>" {
			t.Errorf("List-Id %q", got)
		}
		for _, h := range []string{"X-Mailer", "User-Agent"} {
			if v := m.Header.Get(h); v != "" {
				t.Errorf("%s: %s advertises the mail library", h, v)
			}
		}
		if !strings.HasPrefix(m.From, "b+") || !strings.HasSuffix(m.From, "@bounces.herald.test") {
			t.Errorf("envelope sender %q is not a bounce address", m.From)
		}
	}
	// A confirmation is no list mail.
	f.queue(t, f.pendingReader(t, "new@example.org"))
	if n := f.confirmations(t); n != 1 {
		t.Fatalf("sent %d confirmations, want 1", n)
	}
	c := f.smtp.MessagesTo("new@example.org")
	if len(c) != 1 || c[0].Header.Get("List-Id") != "" || c[0].Header.Get("X-Mailer") != "" {
		t.Fatalf("confirmation: %d messages, List-Id %q", len(c), c[0].Header.Get("List-Id"))
	}
	// Confirmations leave with a bounce address too: a DSN about one
	// counts against the pending reader.
	if !strings.HasPrefix(c[0].From, "b+") {
		t.Errorf("confirmation's envelope sender %q is not a bounce address", c[0].From)
	}
}

// A round reports how many digests failed beside how many went out.
func TestRoundCountsFailures(t *testing.T) {
	f := newFixture(t)
	for _, addr := range []string{"ok@example.org", "gone@example.org", "full@example.org"} {
		r := f.reader(t, addr, "instant", 0, "UTC", "belarus")
		f.publish(t, r.ID, "belarus", "News for "+addr)
	}
	f.smtp.FailRecipient("gone@example.org", 550)
	f.smtp.FailRecipient("full@example.org", 452)
	n, err := f.m.SendDigests(context.Background(), true)
	var round *mailer.RoundError
	if n != 1 || !errors.As(err, &round) || round.Failed != 2 {
		t.Fatalf("SendDigests = %d, %v; want 1 sent and a RoundError of 2 failed", n, err)
	}
	f.smtp.ClearFaults()
	if n, err := f.m.SendDigests(context.Background(), true); err != nil {
		t.Fatalf("a round with nothing failing: %d, %v", n, err)
	}
}
