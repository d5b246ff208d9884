package mailer

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/token"
)

// entry is one article in a digest.
type entry struct {
	Title, URL, Source, Time, Summary string
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
	loc := zone(sub.TZ)
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
			g = &group{Heading: heading(it.Topic), Topic: it.Topic}
			byTopic[it.Topic] = g
			order = append(order, it.Topic)
		}
		summary := ""
		if m.Summarize != nil {
			summary = m.Summarize(ctx, a, it.Topic)
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
	data := map[string]any{"Groups": groups, "Count": n, "Unsubscribe": unsub, "Manage": manage, "Date": date,
		"Lang": htmlLang(sub.Lang), "Site": m.site(), "Operator": m.Operator}
	text, html, err := render(digestText, digestHTML, data)
	if err != nil {
		return nil, err
	}
	subject := m.site() + ": " + strconv.Itoa(n) + " new articles"
	if n == 1 {
		subject = m.site() + ": 1 new article"
	}
	if len(groups) == 1 {
		subject += " on " + shorten(headerText(groups[0].Heading), 60)
	}
	return &Message{To: sub.Email, Subject: subject, Text: text, HTML: html, Unsubscribe: unsub, Sub: sub.ID}, nil
}

// heading is a topic in words a reader reads (subscriptions.Query.Heading);
// a topic that no longer parses is shown as it is.
func heading(topic string) string {
	q, err := subscriptions.Parse(topic)
	if err != nil {
		return topic
	}
	return q.Heading()
}

// htmlLang is the reader's language as an HTML lang value: a language tag
// of letters, digits and hyphens, else English, which the page's own
// words are in.
func htmlLang(l string) string {
	if l == "" || len(l) > 35 {
		return "en"
	}
	for _, r := range l {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return "en"
		}
	}
	return l
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
