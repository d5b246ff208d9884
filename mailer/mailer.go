package mailer

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/token"
)

// How long signed links stay valid, and the limits of sending.
const (
	ConfirmValidity = 7 * 24 * time.Hour
	LinkValidity    = 365 * 24 * time.Hour
	maxDigestItems  = 100
	HardBounceLimit = 3

	// InstantWindow is how long an "instant" reader's first new article
	// waits for others, so that a burst of news makes one email.
	InstantWindow = time.Minute
	// DigestGrace is how late after the reader's hour a daily or weekly
	// digest may still go out (a process that was down, a slow round);
	// later than that it waits for the next day rather than arrive at an
	// hour the reader did not choose.
	DigestGrace = time.Hour

	retryFirst    = time.Minute
	retryMax      = time.Hour
	bounceBackoff = 6 * time.Hour
)

// Mailer composes and sends Herald's emails.
type Mailer struct {
	st        *store.Store
	subs      *subscriptions.Store
	tr        Transport
	publicURL string
	secret    []byte
	log       *slog.Logger

	// Summarize gives the summary shown for an article under the topic it
	// matched; the default is the extractive summary, made uncached, with
	// the topic's words where the article has them.
	Summarize func(ctx context.Context, a *article.Article, topic string) string
	// Now is the clock; tests control it.
	Now func() time.Time
	// Sent, when set, is told of every email accepted (metrics, the demo).
	Sent func(m *Message)
	// Noted, when set, is told of every bounce, deferral and complaint,
	// and whether the relay answered so at send time (ViaSMTP) or a
	// report came back later (ViaReport).
	Noted func(o Outcome, via string)
	// Connections is how many connections send digests in parallel.
	Connections int
	// Rate caps emails per second over all connections (0: no cap).
	Rate float64
	// SiteName is the service's name in emails (HERALD_SITE_NAME; default
	// "Herald"), Operator who runs it (HERALD_OPERATOR), shown in footers.
	SiteName, Operator string
	// LockTTL is how long a reader's send lock outlives a process killed
	// while sending its digest (default DefaultLockTTL); a live sender
	// extends it while it works.
	LockTTL time.Duration

	limit limiter
	// wake tells RunConfirmations of a confirmation queued here.
	wake chan struct{}
	// lockTicks and onExtend, set by tests only, pace the extensions of
	// send locks and are told of each.
	lockTicks <-chan time.Time
	onExtend  func(sub string, held bool, err error)
}

// Outcome is what became of an email that was not simply accepted.
type Outcome string

// The outcomes Noted is told of.
const (
	// HardBounce: refused for good (5xx at send, or a DSN with a 5.x.x
	// status); HardBounceLimit of them suspend the address.
	HardBounce Outcome = "hard"
	// SoftBounce: an MTA gave up after temporary failures (a DSN with
	// Action failed and a 4.x.x status); not counted against the reader.
	SoftBounce Outcome = "soft"
	// Deferral: a 4xx at send (tried again), or a DSN saying "delayed".
	Deferral Outcome = "deferral"
	// Complaint: the reader marked an email as spam (an ARF report); they
	// are unsubscribed at once.
	Complaint Outcome = "complaint"
)

// Where an outcome was learnt.
const (
	ViaSMTP   = "smtp"
	ViaReport = "report"
)

func (m *Mailer) note(o Outcome, via string) {
	if m.Noted != nil {
		m.Noted(o, via)
	}
}

// listID is the List-Id of digests (RFC 2919): a label under the host of
// the public URL, which the operator controls.
func (m *Mailer) listID() string {
	host := "herald.local"
	if u, err := url.Parse(m.publicURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return "Herald digest <digest." + host + ">"
}

// New returns a Mailer sending through tr, with links under publicURL.
func New(st *store.Store, subs *subscriptions.Store, tr Transport, publicURL string, secret []byte, log *slog.Logger) *Mailer {
	if log == nil {
		log = slog.Default()
	}
	return &Mailer{st: st, subs: subs, tr: tr, publicURL: strings.TrimRight(publicURL, "/"), secret: secret, log: log,
		Now: time.Now, Connections: 3, wake: make(chan struct{}, 1)}
}

func (m *Mailer) site() string {
	if m.SiteName == "" {
		return "Herald"
	}
	return m.SiteName
}

// Link returns the signed link for a page about a subscriber.
func (m *Mailer) Link(path, purpose, sub string, validity time.Duration) string {
	tok := token.Sign(m.secret, purpose, sub, m.Now().Add(validity))
	return m.publicURL + path + "?token=" + url.QueryEscape(tok)
}

// The mailer's keys beside each reader's hash: when its last digest went,
// the back-off after a failed one, and the lock of the one process
// sending it.
func (m *Mailer) lastKey(sub string) string  { return subscriptions.Key(m.st, sub, "last") }
func (m *Mailer) retryKey(sub string) string { return subscriptions.Key(m.st, sub, "retry") }
func (m *Mailer) lockKey(sub string) string  { return subscriptions.Key(m.st, sub, "sending") }

func render(text textTemplate, html htmlTemplate, data any) (string, string, error) {
	var t, h bytes.Buffer
	if err := text.Execute(&t, data); err != nil {
		return "", "", err
	}
	if err := html.Execute(&h, data); err != nil {
		return "", "", err
	}
	return t.String(), h.String(), nil
}

// SweepEvery is how often Run looks for digest lists left without their
// pending mark (delivery.Sweep): rarely, as only a crash between the two
// steps of enqueueing leaves one, and a full SCAN of the readers' keys is
// not free.
const SweepEvery = 5 * time.Minute

// Run sends due digests every tick until ctx ends; at start and every
// SweepEvery it first sweeps the digest lists, so that items stranded by a
// crashed matcher go out with the next round. Confirmations go out beside
// them as they are queued (RunConfirmations).
func (m *Mailer) Run(ctx context.Context, tick time.Duration) error {
	confirmations := make(chan struct{})
	go func() {
		defer close(confirmations)
		_ = m.RunConfirmations(ctx)
	}()
	defer func() { <-confirmations }()
	t := time.NewTicker(tick)
	defer t.Stop()
	var swept time.Time
	for {
		// The sweep is paced by the real clock, not m.Now: it is upkeep,
		// unrelated to the readers' hours.
		if time.Since(swept) >= SweepEvery {
			m.sweep(ctx)
			swept = time.Now()
		}
		if _, err := m.SendDigests(ctx, false); err != nil && ctx.Err() == nil {
			m.log.Debug("digest round had failures", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (m *Mailer) sweep(ctx context.Context) {
	found, err := delivery.Sweep(ctx, m.st)
	for _, id := range found {
		m.log.Warn("digest items found without their pending mark; queued again", "subscriber", id)
	}
	if err != nil && ctx.Err() == nil {
		m.log.Warn("digest sweep failed", "err", err)
	}
}
