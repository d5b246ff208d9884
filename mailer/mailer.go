package mailer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/token"
	"github.com/herald-news/herald/watcher"
)

// How long signed links stay valid.
const (
	ConfirmValidity = 7 * 24 * time.Hour
	LinkValidity    = 365 * 24 * time.Hour
	maxDigestItems  = 100
	HardBounceLimit = 3
)

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
}

// New returns a Mailer sending through tr, with links under publicURL.
func New(st *store.Store, subs *subscriptions.Store, tr Transport, publicURL string, secret []byte, log *slog.Logger) *Mailer {
	if log == nil {
		log = slog.Default()
	}
	return &Mailer{st: st, subs: subs, tr: tr, publicURL: strings.TrimRight(publicURL, "/"), secret: secret, log: log, Now: time.Now}
}

// Link returns the signed link for a page about a subscriber.
func (m *Mailer) Link(path, purpose, sub string, validity time.Duration) string {
	tok := token.Sign(m.secret, purpose, sub, m.Now().Add(validity))
	return m.publicURL + path + "?token=" + url.QueryEscape(tok)
}

// SendConfirmation mails the double opt-in link to a pending reader.
func (m *Mailer) SendConfirmation(ctx context.Context, sub *subscriptions.Subscriber) error {
	link := m.Link("/confirm", token.Confirm, sub.ID, ConfirmValidity)
	data := map[string]any{"Link": link, "Topics": sub.Topics, "Frequency": sub.Frequency}
	var text, html bytes.Buffer
	if err := confirmText.Execute(&text, data); err != nil {
		return err
	}
	if err := confirmHTML.Execute(&html, data); err != nil {
		return err
	}
	msg := &Message{To: sub.Email, Subject: "Confirm your Herald news digest", Text: text.String(), HTML: html.String(), Sub: sub.ID}
	if err := m.tr.Send(ctx, []*Message{msg})[0]; err != nil {
		return fmt.Errorf("send confirmation to %s: %w", sub.ID, err)
	}
	if m.Sent != nil {
		m.Sent(msg)
	}
	return nil
}

// entry is one article in a digest.
type entry struct {
	Title, URL, Source, Time, Summary string
}

type group struct {
	Topic   string
	Entries []entry
}

// Due reports whether a reader's digest should go out at now: instant
// readers at once, daily ones at their hour in their zone at most once a
// day, weekly ones likewise once a week.
func Due(sub *subscriptions.Subscriber, last, now time.Time) bool {
	switch sub.Frequency {
	case "instant", "":
		return true
	}
	loc, err := time.LoadLocation(sub.TZ)
	if err != nil || sub.TZ == "" {
		loc = time.UTC
	}
	local := now.In(loc)
	if local.Hour() != sub.Hour {
		return false
	}
	period := 23 * time.Hour
	if sub.Frequency == "weekly" {
		period = 6*24*time.Hour + 23*time.Hour
	}
	return last.IsZero() || now.Sub(last) >= period
}

func (m *Mailer) lastKey(sub string) string { return m.st.Key("sub", "{"+sub+"}", "last") }

// SendDigests sends every digest that is due (with force, every one with
// anything pending) and returns how many were sent.
func (m *Mailer) SendDigests(ctx context.Context, force bool) (int, error) {
	ids, err := delivery.Pending(ctx, m.st)
	if err != nil {
		return 0, fmt.Errorf("list pending digests: %w", err)
	}
	sort.Strings(ids)
	sent := 0
	var firstErr error
	for _, id := range ids {
		if ctx.Err() != nil {
			return sent, ctx.Err()
		}
		ok, err := m.sendOne(ctx, id, force)
		if err != nil {
			m.log.Warn("digest not sent", "subscriber", id, "err", err)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if ok {
			sent++
		}
	}
	return sent, firstErr
}

func (m *Mailer) sendOne(ctx context.Context, id string, force bool) (bool, error) {
	sub, err := m.subs.Get(ctx, id)
	if errors.Is(err, subscriptions.ErrNotFound) {
		return false, delivery.Done(ctx, m.st, id, maxDigestItems*100)
	}
	if err != nil {
		return false, err
	}
	if !sub.Active() || sub.Kind != subscriptions.KindEmail {
		if sub.Status == subscriptions.StatusUnsubscribed || sub.Status == subscriptions.StatusSuspended {
			return false, delivery.Done(ctx, m.st, id, maxDigestItems*100)
		}
		return false, nil
	}
	var last time.Time
	if v, err := m.st.Redis.Get(ctx, m.lastKey(id)).Int64(); err == nil {
		last = time.Unix(v, 0)
	} else if !errors.Is(err, redis.Nil) {
		return false, err
	}
	if !force && !Due(sub, last, m.Now()) {
		return false, nil
	}
	items, err := delivery.Items(ctx, m.st, id)
	if err != nil {
		return false, err
	}
	if len(items) == 0 {
		return false, delivery.Done(ctx, m.st, id, 0)
	}
	if len(items) > maxDigestItems {
		items = items[:maxDigestItems]
	}
	msg, n, err := m.digest(ctx, sub, items)
	if err != nil {
		return false, err
	}
	if n > 0 {
		err := m.tr.Send(ctx, []*Message{msg})[0]
		if err != nil {
			if !IsTemporary(err) {
				m.bounce(ctx, sub, err)
			}
			return false, fmt.Errorf("send digest: %w", err)
		}
		if m.Sent != nil {
			m.Sent(msg)
		}
		m.log.Info("digest sent", "subscriber", id, "articles", n)
	}
	// Only now, with the server's acceptance, do the items leave Redis.
	m.st.Redis.Set(ctx, m.lastKey(id), m.Now().Unix(), 0)
	return n > 0, delivery.Done(ctx, m.st, id, len(items))
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
	byTopic := map[string]*group{}
	var order []string
	n := 0
	for _, it := range items {
		raw, err := m.st.Redis.Get(ctx, watcher.ArticleKey(m.st, it.Article)).Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, 0, err
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
			when = a.Published.UTC().Format("2 Jan 2006 15:04 UTC")
		}
		src := a.Source
		if src == "" {
			if u, err := url.Parse(a.URL); err == nil {
				src = u.Hostname()
			}
		}
		g.Entries = append(g.Entries, entry{Title: a.Title, URL: a.URL, Source: src, Time: when, Summary: summary})
		n++
	}
	groups := make([]*group, 0, len(order))
	for _, t := range order {
		groups = append(groups, byTopic[t])
	}
	unsub := m.Link("/unsubscribe", token.Unsubscribe, sub.ID, LinkValidity)
	manage := m.Link("/manage", token.Manage, sub.ID, LinkValidity)
	data := map[string]any{"Groups": groups, "Count": n, "Unsubscribe": unsub, "Manage": manage}
	var text, html bytes.Buffer
	if err := digestText.Execute(&text, data); err != nil {
		return nil, 0, err
	}
	if err := digestHTML.Execute(&html, data); err != nil {
		return nil, 0, err
	}
	subject := "Herald: " + strconv.Itoa(n) + " new articles"
	if n == 1 {
		subject = "Herald: 1 new article"
	}
	if len(order) == 1 {
		subject += " on " + shorten(strings.Join(strings.Fields(order[0]), " "), 60)
	}
	return &Message{To: sub.Email, Subject: subject, Text: text.String(), HTML: html.String(), Unsubscribe: unsub, Sub: sub.ID}, n, nil
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

var confirmText = texttemplate.Must(texttemplate.New("").Parse(`Hello,

someone (we hope you) asked Herald to send news digests to this address{{with .Topics}} on:
{{range .}}  - {{.}}
{{end}}{{end}}
To start receiving them, confirm here:
{{.Link}}

If it was not you, ignore this email: nothing will be sent.
`))

var confirmHTML = htmltemplate.Must(htmltemplate.New("").Parse(`<!doctype html>
<html><body style="margin:0;padding:24px;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5;color:#1a1a1a;background:#ffffff">
<p>Hello,</p>
<p>someone (we hope you) asked Herald to send news digests to this address{{with .Topics}} on:</p>
<ul>{{range .}}<li><code>{{.}}</code></li>{{end}}</ul>{{end}}
<p><a href="{{.Link}}" style="display:inline-block;padding:10px 18px;background:#1f5fbf;color:#ffffff;text-decoration:none;border-radius:6px">Confirm my subscription</a></p>
<p style="color:#555555;font-size:14px">If it was not you, ignore this email: nothing will be sent.</p>
</body></html>
`))

var digestText = texttemplate.Must(texttemplate.New("").Parse(`Herald found {{.Count}} new article{{if ne .Count 1}}s{{end}} on your topics.
{{range .Groups}}
== {{.Topic}} ==
{{range .Entries}}
* {{.Title}}
  {{.Source}}{{with .Time}} · {{.}}{{end}}
  {{.URL}}
{{with .Summary}}  {{.}}
{{end}}{{end}}{{end}}
--
Change topics or frequency: {{.Manage}}
Unsubscribe: {{.Unsubscribe}}
`))

var digestHTML = htmltemplate.Must(htmltemplate.New("").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light dark"><meta name="supported-color-schemes" content="light dark">
<title>Herald digest</title></head>
<body style="margin:0;padding:0;background:#f4f4f4">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f4f4f4"><tr><td align="center" style="padding:16px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:640px;background:#ffffff;border-radius:8px;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1a1a1a">
<tr><td style="padding:20px 24px 8px 24px;font-size:14px;color:#555555">Herald found {{.Count}} new article{{if ne .Count 1}}s{{end}} on your topics.</td></tr>
{{range .Groups}}
<tr><td style="padding:16px 24px 4px 24px"><h2 style="margin:0;font-size:18px;color:#1a1a1a">{{.Topic}}</h2></td></tr>
{{range .Entries}}
<tr><td style="padding:10px 24px;border-bottom:1px solid #e5e5e5">
<a href="{{.URL}}" style="font-size:17px;font-weight:600;color:#1f5fbf;text-decoration:none">{{.Title}}</a>
<div style="font-size:13px;color:#666666;margin:2px 0 6px 0">{{.Source}}{{with .Time}} · {{.}}{{end}}</div>
{{with .Summary}}<div style="font-size:15px;line-height:1.5;color:#1a1a1a">{{.}}</div>{{end}}
</td></tr>
{{end}}{{end}}
<tr><td style="padding:16px 24px 20px 24px;font-size:13px;color:#666666">
<a href="{{.Manage}}" style="color:#1f5fbf">Change topics or frequency</a> · <a href="{{.Unsubscribe}}" style="color:#1f5fbf">Unsubscribe</a>
</td></tr>
</table></td></tr></table>
</body></html>
`))
