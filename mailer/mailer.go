package mailer

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/token"
	"github.com/herald-news/herald/watcher"
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

	lockTTL       = 5 * time.Minute
	retryFirst    = time.Minute
	retryMax      = time.Hour
	bounceBackoff = 6 * time.Hour
)

// ErrAddress is a malformed email address given to LinkEmail.
var ErrAddress = errors.New("not an email address")

// Mailer composes and sends Herald's emails.
type Mailer struct {
	st        *store.Store
	subs      *subscriptions.Store
	tr        Transport
	publicURL string
	secret    []byte
	log       *slog.Logger

	// Summarize gives the summary shown for an article; the default is the
	// feed's own summary, shortened.
	Summarize func(ctx context.Context, a *article.Article, topic string) string
	// Now is the clock; tests control it.
	Now func() time.Time
	// Sent, when set, is told of every email accepted (metrics, the demo).
	Sent func(m *Message)
	// Connections is how many connections send digests in parallel.
	Connections int
	// Rate caps emails per second over all connections (0: no cap).
	Rate float64
	// LockTTL is how long a reader's send lock outlives a process killed
	// while sending its digest (default 5m).
	LockTTL time.Duration

	limit limiter
}

// New returns a Mailer sending through tr, with links under publicURL.
func New(st *store.Store, subs *subscriptions.Store, tr Transport, publicURL string, secret []byte, log *slog.Logger) *Mailer {
	if log == nil {
		log = slog.Default()
	}
	return &Mailer{st: st, subs: subs, tr: tr, publicURL: strings.TrimRight(publicURL, "/"), secret: secret, log: log,
		Now: time.Now, Connections: 3}
}

// Link returns the signed link for a page about a subscriber.
func (m *Mailer) Link(path, purpose, sub string, validity time.Duration) string {
	tok := token.Sign(m.secret, purpose, sub, m.Now().Add(validity))
	return m.publicURL + path + "?token=" + url.QueryEscape(tok)
}

// NewReaderID returns a fresh id for an email reader.
func NewReaderID() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return "mail:" + hex.EncodeToString(b[:])
}

// sendNow sends one transactional email (a confirmation, a manage link),
// trying once more after a temporary failure: the reader is waiting for it.
func (m *Mailer) sendNow(ctx context.Context, msg *Message) error {
	var err error
	for attempt := range 2 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
		}
		if err = m.tr.Send(ctx, []*Message{msg})[0]; err == nil {
			if m.Sent != nil {
				m.Sent(msg)
			}
			return nil
		}
		if !IsTemporary(err) {
			break
		}
	}
	return err
}

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

// SendConfirmation mails the double opt-in link to a pending reader.
func (m *Mailer) SendConfirmation(ctx context.Context, sub *subscriptions.Subscriber) error {
	link := m.Link("/confirm", token.Confirm, sub.ID, ConfirmValidity)
	text, html, err := render(confirmText, confirmHTML, map[string]any{"Link": link, "Topics": sub.Topics, "Frequency": sub.Frequency})
	if err != nil {
		return err
	}
	msg := &Message{To: sub.Email, Subject: "Confirm your Herald news digest", Text: text, HTML: html, Sub: sub.ID}
	if err := m.sendNow(ctx, msg); err != nil {
		return fmt.Errorf("send confirmation to %s: %w", sub.ID, err)
	}
	return nil
}

// SendManageLink mails an active reader who signed up again the link to
// their preferences: the sign-up page answers the same for every address,
// and only the owner of the inbox learns that it was already subscribed.
func (m *Mailer) SendManageLink(ctx context.Context, sub *subscriptions.Subscriber) error {
	link := m.Link("/manage", token.Manage, sub.ID, LinkValidity)
	text, html, err := render(manageText, manageHTML, map[string]any{"Link": link, "Topics": sub.Topics})
	if err != nil {
		return err
	}
	msg := &Message{To: sub.Email, Subject: "Your Herald digest settings", Text: text, HTML: html, Sub: sub.ID}
	if err := m.sendNow(ctx, msg); err != nil {
		return fmt.Errorf("send manage link to %s: %w", sub.ID, err)
	}
	return nil
}

// LinkEmail is Telegram's /email ADDRESS: it mails addr a confirmation, and
// once it is opened (ConfirmLink) the address gets digests of the chat's
// topics. Nothing about an existing reader of addr changes before that.
//
// Topics stay in step through Subscriber.LinkedTo, which each of the two
// names the other with: whoever changes one side's topics copies them to
// the other (the bot for the chat, the manage page for the email reader),
// and each digest copies the chat's topics again in case a copy was missed.
func (m *Mailer) LinkEmail(ctx context.Context, chat *subscriptions.Subscriber, addr string) error {
	email, err := CheckAddress(addr)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrAddress, err)
	}
	sub, err := m.subs.ByEmail(ctx, email)
	switch {
	case errors.Is(err, subscriptions.ErrNotFound):
		tz := chat.TZ
		if tz == "" {
			tz = "UTC"
		}
		sub = &subscriptions.Subscriber{ID: NewReaderID(), Kind: subscriptions.KindEmail, Email: email,
			Status: subscriptions.StatusPending, Topics: slices.Clone(chat.Topics), Frequency: "daily", Hour: 8, TZ: tz,
			LinkedTo: chat.ID, Created: m.Now().UTC()}
		if err := m.subs.Put(ctx, sub); err != nil {
			return fmt.Errorf("link email to %s: %w", chat.ID, err)
		}
	case err != nil:
		return fmt.Errorf("link email to %s: %w", chat.ID, err)
	case sub.Status == subscriptions.StatusSuspended:
		// The address bounced; another confirmation would bounce too.
		m.log.Info("email link to a suspended address not sent", "subscriber", sub.ID, "chat", chat.ID)
		return nil
	}
	link := m.Link("/confirm", token.Link, sub.ID+" "+chat.ID, ConfirmValidity)
	text, html, err := render(confirmText, confirmHTML, map[string]any{"Link": link, "Topics": chat.Topics, "Telegram": true})
	if err != nil {
		return err
	}
	msg := &Message{To: email, Subject: "Confirm Herald digests of your Telegram topics", Text: text, HTML: html, Sub: sub.ID}
	if err := m.sendNow(ctx, msg); err != nil {
		return fmt.Errorf("send link confirmation to %s: %w", sub.ID, err)
	}
	return nil
}

// ConfirmLink completes LinkEmail once the link in its email was opened:
// subject is the token's "READER CHAT". The reader becomes active with the
// chat's topics and the two name each other in LinkedTo.
func (m *Mailer) ConfirmLink(ctx context.Context, subject string) (*subscriptions.Subscriber, error) {
	readerID, chatID, ok := strings.Cut(subject, " ")
	if !ok || readerID == "" || chatID == "" {
		return nil, token.ErrInvalid
	}
	chat, err := m.subs.Get(ctx, chatID)
	if err != nil {
		return nil, err
	}
	sub, err := m.subs.Update(ctx, readerID, func(s *subscriptions.Subscriber) error {
		if s.Status == subscriptions.StatusSuspended {
			return nil
		}
		s.Status = subscriptions.StatusActive
		s.LinkedTo = chat.ID
		s.Topics = slices.Clone(chat.Topics)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := m.subs.Update(ctx, chat.ID, func(c *subscriptions.Subscriber) error {
		c.LinkedTo = sub.ID
		return nil
	}); err != nil {
		return nil, err
	}
	m.log.Info("email linked to chat", "subscriber", sub.ID, "chat", chat.ID)
	return sub, nil
}

// syncLinked copies a linked chat's topics onto its email reader when they
// drifted apart, and forgets a link the chat no longer returns.
func (m *Mailer) syncLinked(ctx context.Context, sub *subscriptions.Subscriber) *subscriptions.Subscriber {
	if sub.LinkedTo == "" {
		return sub
	}
	chat, err := m.subs.Get(ctx, sub.LinkedTo)
	if err != nil && !errors.Is(err, subscriptions.ErrNotFound) {
		return sub
	}
	linked := err == nil && chat.LinkedTo == sub.ID
	if linked && slices.Equal(chat.Topics, sub.Topics) {
		return sub
	}
	out, err := m.subs.Update(ctx, sub.ID, func(s *subscriptions.Subscriber) error {
		if linked {
			s.Topics = slices.Clone(chat.Topics)
		} else {
			s.LinkedTo = ""
		}
		return nil
	})
	if err != nil {
		m.log.Warn("linked topics not synchronised", "subscriber", sub.ID, "err", err)
		return sub
	}
	return out
}

// entry is one article in a digest.
type entry struct {
	Title, URL, Source, Time, Summary string
}

type group struct {
	Topic   string
	Entries []entry
}

func zone(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// slot is the most recent start of the reader's hour at or before t, in
// their zone (a day without that hour, at a DST change, uses what
// time.Date normalises it to).
func slot(sub *subscriptions.Subscriber, t time.Time) time.Time {
	loc := zone(sub.TZ)
	l := t.In(loc)
	s := time.Date(l.Year(), l.Month(), l.Day(), sub.Hour, 0, 0, 0, loc)
	if s.After(t) {
		l = l.AddDate(0, 0, -1)
		s = time.Date(l.Year(), l.Month(), l.Day(), sub.Hour, 0, 0, 0, loc)
	}
	return s
}

// Due reports whether a daily or weekly reader's digest may go out at now,
// given when the last one went: within DigestGrace after their hour in
// their zone, once per day, and for weekly readers at least seven days
// after the last. Instant readers are always due (InstantWindow gathers
// their news).
func Due(sub *subscriptions.Subscriber, last, now time.Time) bool {
	switch sub.Frequency {
	case "instant", "":
		return true
	}
	s := slot(sub, now)
	if now.Sub(s) >= DigestGrace || !last.Before(s) {
		return false
	}
	if sub.Frequency == "weekly" && !last.IsZero() {
		ls := slot(sub, last)
		return !s.Before(time.Date(ls.Year(), ls.Month(), ls.Day()+7, sub.Hour, 0, 0, 0, s.Location()))
	}
	return true
}

func (m *Mailer) lastKey(sub string) string  { return m.st.Key("sub", "{"+sub+"}", "last") }
func (m *Mailer) retryKey(sub string) string { return m.st.Key("sub", "{"+sub+"}", "retry") }
func (m *Mailer) lockKey(sub string) string  { return m.st.Key("sub", "{"+sub+"}", "sending") }

// SendDigests sends every digest that is due (with force, every one with
// anything pending) and returns how many were sent. Connections workers
// share the readers, each keeping one SMTP connection for all it sends.
func (m *Mailer) SendDigests(ctx context.Context, force bool) (int, error) {
	ids, err := delivery.Pending(ctx, m.st)
	if err != nil {
		return 0, fmt.Errorf("list pending digests: %w", err)
	}
	sort.Strings(ids)
	m.limit.setRate(m.Rate)
	var (
		sent     atomic.Int64
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	jobs := make(chan string)
	for range max(1, min(m.Connections, len(ids))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{m: m}
			defer w.close()
			for id := range jobs {
				ok, err := w.sendOne(ctx, id, force)
				if err != nil {
					m.log.Warn("digest not sent", "subscriber", id, "err", err)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
				if ok {
					sent.Add(1)
				}
			}
		}()
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		jobs <- id
	}
	close(jobs)
	wg.Wait()
	if ctx.Err() != nil && firstErr == nil {
		firstErr = ctx.Err()
	}
	return int(sent.Load()), firstErr
}

// worker is one sending connection, opened when it first has something
// to send.
type worker struct {
	m    *Mailer
	conn Conn
}

func (w *worker) close() {
	if w.conn != nil {
		_ = w.conn.Close()
	}
}

func (w *worker) send(ctx context.Context, msg *Message) error {
	if err := w.m.limit.wait(ctx); err != nil {
		return err
	}
	if w.conn == nil {
		c, err := open(ctx, w.m.tr)
		if err != nil {
			return err
		}
		w.conn = c
	}
	return w.conn.Send(ctx, msg)
}

// retryState is "ATTEMPTS:UNIX-TIME-OF-NEXT-TRY".
func parseRetry(v string) (int, time.Time) {
	a, b, _ := strings.Cut(v, ":")
	n, _ := strconv.Atoi(a)
	at, _ := strconv.ParseInt(b, 10, 64)
	return n, time.Unix(at, 0)
}

func (w *worker) sendOne(ctx context.Context, id string, force bool) (bool, error) {
	m := w.m
	sub, err := m.subs.Get(ctx, id)
	if errors.Is(err, subscriptions.ErrNotFound) {
		return false, delivery.Done(ctx, m.st, id, maxDigestItems*100)
	}
	if err != nil {
		return false, err
	}
	now := m.Now()
	switch {
	case sub.Kind != subscriptions.KindEmail:
		return false, nil
	case sub.Status == subscriptions.StatusPending:
		return false, nil
	case !sub.Active(), now.Before(sub.PausedUntil):
		// Unsubscribed, suspended or paused: what matched meanwhile is not
		// kept for later, or the first digest after a pause would be a flood.
		return false, delivery.Done(ctx, m.st, id, maxDigestItems*100)
	}
	var lastCmd, retryCmd *redis.StringCmd
	_, err = m.st.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		lastCmd, retryCmd = p.Get(ctx, m.lastKey(id)), p.Get(ctx, m.retryKey(id))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, err
	}
	var last time.Time
	if v, err := lastCmd.Int64(); err == nil {
		last = time.Unix(v, 0)
	}
	attempts, retryAt := parseRetry(retryCmd.Val())
	if !force && (now.Before(retryAt) || !Due(sub, last, now)) {
		return false, nil
	}
	// One sender per reader across every process: the lock outlives a
	// crash only by lockTTL, after which at most this one email repeats.
	var lock *redis.BoolCmd
	var itemsCmd *redis.StringSliceCmd
	_, err = m.st.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		lock = p.SetNX(ctx, m.lockKey(id), "1", cmp.Or(m.LockTTL, lockTTL))
		itemsCmd = p.LRange(ctx, delivery.DigestKey(m.st, id), 0, maxDigestItems-1)
		return nil
	})
	if err != nil {
		return false, err
	}
	if !lock.Val() {
		return false, nil
	}
	defer m.st.Redis.Del(context.WithoutCancel(ctx), m.lockKey(id))
	items := make([]delivery.Item, 0, len(itemsCmd.Val()))
	for _, r := range itemsCmd.Val() {
		var it delivery.Item
		if json.Unmarshal([]byte(r), &it) == nil {
			items = append(items, it)
		}
	}
	taken := len(itemsCmd.Val())
	if taken == 0 {
		return false, delivery.Done(ctx, m.st, id, 0)
	}
	if !force && (sub.Frequency == "instant" || sub.Frequency == "") && now.Sub(items[0].At) < InstantWindow {
		return false, nil
	}
	sub = m.syncLinked(ctx, sub)
	msg, n, err := m.digest(ctx, sub, items)
	if err != nil {
		return false, err
	}
	if n > 0 {
		if err := w.send(ctx, msg); err != nil {
			m.failed(ctx, sub, attempts, err)
			return false, fmt.Errorf("send digest: %w", err)
		}
		if m.Sent != nil {
			m.Sent(msg)
		}
		m.log.Info("digest sent", "subscriber", id, "articles", n)
	}
	// Only now, with the server's acceptance, do the items leave Redis.
	done := context.WithoutCancel(ctx)
	_, err = m.st.Redis.TxPipelined(done, func(p redis.Pipeliner) error {
		if n > 0 {
			p.Set(done, m.lastKey(id), now.Unix(), 0)
		}
		p.Del(done, m.retryKey(id))
		return nil
	})
	if err != nil {
		return n > 0, err
	}
	if n > 0 && sub.Bounces > 0 {
		// Bounces count in a row: an accepted digest starts them afresh.
		_, _ = m.subs.Update(done, id, func(s *subscriptions.Subscriber) error { s.Bounces = 0; return nil })
	}
	return n > 0, delivery.Done(done, m.st, id, taken)
}

// failed records a refused digest: a temporary failure is tried again
// after a growing pause; a permanent one counts as a hard bounce, and the
// items wait (the next try is bounceBackoff away) until the address is
// suspended.
func (m *Mailer) failed(ctx context.Context, sub *subscriptions.Subscriber, attempts int, cause error) {
	ctx = context.WithoutCancel(ctx)
	wait := bounceBackoff
	if IsTemporary(cause) {
		wait = min(retryFirst<<min(attempts, 10), retryMax)
	} else {
		m.bounce(ctx, sub, cause)
	}
	v := strconv.Itoa(attempts+1) + ":" + strconv.FormatInt(m.Now().Add(wait).Unix(), 10)
	m.st.Redis.Set(ctx, m.retryKey(sub.ID), v, 2*24*time.Hour)
	m.log.Info("digest will be tried again", "subscriber", sub.ID, "in", wait, "temporary", IsTemporary(cause), "err", cause)
}

func (m *Mailer) bounce(ctx context.Context, sub *subscriptions.Subscriber, cause error) {
	s, err := m.subs.Update(ctx, sub.ID, func(s *subscriptions.Subscriber) error {
		s.Bounces++
		if s.Bounces >= HardBounceLimit {
			s.Status = subscriptions.StatusSuspended
		}
		return nil
	})
	if err == nil && s.Status == subscriptions.StatusSuspended {
		m.log.Warn("address suspended after hard bounces", "subscriber", sub.ID, "err", cause)
	}
}

// digest builds a reader's digest from its items; n is how many articles
// it lists (items whose article expired are skipped).
func (m *Mailer) digest(ctx context.Context, sub *subscriptions.Subscriber, items []delivery.Item) (*Message, int, error) {
	cmds := make([]*redis.StringCmd, len(items))
	_, err := m.st.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, it := range items {
			cmds[i] = p.Get(ctx, watcher.ArticleKey(m.st, it.Article))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, 0, err
	}
	loc := zone(sub.TZ)
	byTopic := map[string]*group{}
	var order []string
	n := 0
	for i, it := range items {
		raw, err := cmds[i].Bytes()
		if err != nil {
			continue
		}
		var a article.Article
		if json.Unmarshal(raw, &a) != nil {
			continue
		}
		g := byTopic[it.Topic]
		if g == nil {
			g = &group{Topic: it.Topic}
			byTopic[it.Topic] = g
			order = append(order, it.Topic)
		}
		summary := ""
		if m.Summarize != nil {
			summary = m.Summarize(ctx, &a, it.Topic)
		} else {
			summary = shorten(a.Summary, 400)
		}
		when := ""
		if a.Published != nil {
			when = a.Published.In(loc).Format("Mon 2 Jan 15:04 MST")
		}
		src := a.Source
		if src == "" {
			if u, err := url.Parse(a.URL); err == nil {
				src = strings.TrimPrefix(u.Hostname(), "www.")
			}
		}
		g.Entries = append(g.Entries, entry{Title: a.Title, URL: a.URL, Source: src, Time: when, Summary: summary})
		n++
	}
	if n == 0 {
		return nil, 0, nil
	}
	groups := make([]*group, 0, len(order))
	for _, t := range order {
		groups = append(groups, byTopic[t])
	}
	msg, err := m.compose(sub, groups, n)
	return msg, n, err
}

func (m *Mailer) compose(sub *subscriptions.Subscriber, groups []*group, n int) (*Message, error) {
	unsub := m.Link("/unsubscribe", token.Unsubscribe, sub.ID, LinkValidity)
	manage := m.Link("/manage", token.Manage, sub.ID, LinkValidity)
	date := m.Now().In(zone(sub.TZ)).Format("Monday 2 January 2006")
	data := map[string]any{"Groups": groups, "Count": n, "Unsubscribe": unsub, "Manage": manage, "Date": date}
	text, html, err := render(digestText, digestHTML, data)
	if err != nil {
		return nil, err
	}
	subject := "Herald: " + strconv.Itoa(n) + " new articles"
	if n == 1 {
		subject = "Herald: 1 new article"
	}
	if len(groups) == 1 {
		subject += " on " + shorten(headerText(groups[0].Topic), 60)
	}
	return &Message{To: sub.Email, Subject: subject, Text: text, HTML: html, Unsubscribe: unsub, Sub: sub.ID}, nil
}

// Run sends due digests every tick until ctx ends.
func (m *Mailer) Run(ctx context.Context, tick time.Duration) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
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

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n-1])
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return cut + "…"
}

// limiter spaces sends evenly at a rate shared by every connection.
type limiter struct {
	mu    sync.Mutex
	every time.Duration
	next  time.Time
}

func (l *limiter) setRate(perSecond float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.every = 0
	if perSecond > 0 {
		l.every = time.Duration(float64(time.Second) / perSecond)
	}
}

func (l *limiter) wait(ctx context.Context) error {
	l.mu.Lock()
	if l.every == 0 {
		l.mu.Unlock()
		return nil
	}
	now := time.Now()
	if l.next.Before(now) {
		l.next = now
	}
	at := l.next
	l.next = l.next.Add(l.every)
	l.mu.Unlock()
	d := time.Until(at)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
