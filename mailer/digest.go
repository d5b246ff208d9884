package mailer

import (
	"context"
	"html/template"
	"net/url"
	"strings"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/summary"
	"github.com/herald-news/herald/token"
)

// entry is one article in a digest. Summary is plain text; SummaryHTML is
// the same text escaped, with the topic's words in <strong>.
type entry struct {
	Title, URL, Source, Time, Summary string
	SummaryHTML                       template.HTML
}

// group is one topic's articles: Heading says in words what Topic, the
// query as the reader keeps it, asks for.
type group struct {
	Heading, Topic string
	Entries        []entry
}

// digest builds a reader's digest from its items; n is how many articles
// it lists (items whose article expired are skipped).
func (m *Mailer) digest(ctx context.Context, sub *subscriptions.Subscriber, items []delivery.Item) (*Message, int, error) {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.Article
	}
	as, err := articles.LoadMany(ctx, m.st, ids)
	if err != nil {
		return nil, 0, err
	}
	p := locale.For(sub.Lang)
	loc := zone(sub.TZ)
	now := m.Now().In(loc)
	byTopic := map[string]*group{}
	var order []string
	n := 0
	for i, it := range items {
		a := as[i]
		if a == nil {
			continue
		}
		g := byTopic[it.Topic]
		if g == nil {
			g = &group{Heading: heading(it.Topic, p), Topic: it.Topic}
			byTopic[it.Topic] = g
			order = append(order, it.Topic)
		}
		text := m.summarize(ctx, a, it.Topic)
		when := ""
		if a.Published != nil {
			t := a.Published.In(loc)
			when = p.T("at_time", "Day", p.Date(t, now), "Clock", p.Clock(t))
		}
		src := a.Source
		if src == "" {
			if u, err := url.Parse(a.URL); err == nil {
				src = strings.TrimPrefix(u.Hostname(), "www.")
			}
		}
		g.Entries = append(g.Entries, entry{Title: a.Title, URL: a.URL, Source: src, Time: when,
			Summary: text, SummaryHTML: highlight(text, it.Topic)})
		n++
	}
	if n == 0 {
		return nil, 0, nil
	}
	groups := make([]*group, 0, len(order))
	for _, t := range order {
		groups = append(groups, byTopic[t])
	}
	msg, err := m.compose(sub, groups, n, m.archiveURL(ctx, sub))
	return msg, n, err
}

// summarize is the article's summary for the topic it matched: the
// Summarize hook's (the shared, cached, topic-aware one), or without it
// the extractive summary made the same way, choosing a sentence with the
// topic's words when the lead has none.
func (m *Mailer) summarize(ctx context.Context, a *article.Article, topic string) string {
	if m.Summarize != nil {
		return m.Summarize(ctx, a, topic)
	}
	var terms []string
	if q, err := subscriptions.Parse(topic); err == nil {
		terms = q.Terms()
	}
	return summary.Summarize(a.Body(), summary.Options{Sentences: 3, Chars: 400, Title: a.Title, Topic: terms})
}

// highlight is text as HTML with the topic's words in <strong>, by the
// highlighter the feeds and alerts use (subscriptions.Highlight): its
// output escapes every "<" of the text, so the only "<b>" in it are its
// own tags.
func highlight(text, topic string) template.HTML {
	h := subscriptions.Highlight(text, topic)
	h = strings.ReplaceAll(strings.ReplaceAll(h, "<b>", "<strong>"), "</b>", "</strong>")
	return template.HTML(h)
}

// archiveURL is the reader's archive page ("view in browser"), opened by
// the secret of their feed; "" when the secret cannot be had, as a digest
// without the link is better than none.
func (m *Mailer) archiveURL(ctx context.Context, sub *subscriptions.Subscriber) string {
	sec := delivery.FeedSecretOf(sub)
	if sec == "" {
		var err error
		if sec, err = delivery.FeedSecret(ctx, m.subs, sub.ID); err != nil {
			m.log.Warn("digest without its archive link", "subscriber", sub.ID, "err", err)
			return ""
		}
	}
	return delivery.ArchiveURL(m.publicURL, sub.ID, sec)
}

func (m *Mailer) compose(sub *subscriptions.Subscriber, groups []*group, n int, archive string) (*Message, error) {
	p := locale.For(sub.Lang)
	unsub := m.Link("/unsubscribe", token.Unsubscribe, sub.ID, LinkValidity)
	manage := m.Link("/manage", token.Manage, sub.ID, LinkValidity)
	data := map[string]any{"Groups": groups, "Count": n, "Unsubscribe": unsub, "Manage": manage,
		"Date": p.Day(m.Now().In(zone(sub.TZ))), "Archive": archive,
		"L": p, "Lang": p.Lang(), "Site": m.site(), "Operator": m.Operator}
	text, html, err := render(digestText, digestHTML, data)
	if err != nil {
		return nil, err
	}
	subject := p.N("mail.digest.subject", n, "Site", m.site())
	if len(groups) == 1 {
		subject = p.N("mail.digest.subject_topic", n, "Site", m.site(), "Topic", shorten(headerText(groups[0].Heading), 60))
	}
	return &Message{To: sub.Email, Subject: subject, Text: text, HTML: html, Unsubscribe: unsub, Sub: sub.ID}, nil
}

// heading is a topic in words a reader reads, in their language
// (subscriptions.Query.HeadingIn); a topic that no longer parses is shown
// as it is.
func heading(topic string, p locale.P) string {
	q, err := subscriptions.Parse(topic)
	if err != nil {
		return topic
	}
	return q.HeadingIn(subscriptions.HeadingWords{Not: p.T("mail.heading.not"), Or: p.T("mail.heading.or"),
		From: p.T("mail.heading.from"), InTitle: p.T("mail.heading.in_title")})
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
