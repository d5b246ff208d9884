package web

import (
	"cmp"
	"context"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/subscriptions"
)

type archivePage struct {
	Sub    *subscriptions.Subscriber
	Days   int
	Count  int
	Groups []archiveDay
}

// archiveDay is one local day of the archive, newest first.
type archiveDay struct {
	ID      string // 2026-12-01, for the heading's id
	Heading string
	Items   []archiveItem
}

type archiveItem struct {
	Title, URL, Source, Topic, Clock, ISO string
	Summary                               template.HTML // escaped, the topic's words marked
}

// archive serves GET /archive/{id}/{secret}: the subscriber's matches of
// the last delivery.ArchiveDays, by day in the reader's zone and
// language. The secret is the feed's; a wrong one and a missing
// subscriber get the same 404 page.
func (s *Server) archive(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	sub, err := s.subs.Get(ctx, id)
	if errors.Is(err, subscriptions.ErrNotFound) || err == nil && !delivery.FeedSecretOK(sub, r.PathValue("secret")) {
		s.render(w, r, http.StatusNotFound, "notfound", nil)
		return
	}
	if err != nil {
		s.internal(w, r, "archive: read subscriber", err)
		return
	}
	p, err := s.archivePage(ctx, s.printer(r, sub), sub)
	if err != nil {
		s.internal(w, r, "archive: build", err)
		return
	}
	// The page is the reader's own, reached by a secret in its path: no
	// other site should learn the address from a link followed from it.
	w.Header().Set("Referrer-Policy", "no-referrer")
	s.render(w, r, http.StatusOK, "archive", p)
}

func (s *Server) archivePage(ctx context.Context, L locale.P, sub *subscriptions.Subscriber) (*archivePage, error) {
	now := s.Now()
	entries, err := delivery.Archive(ctx, s.st, sub.ID, now.AddDate(0, 0, -delivery.ArchiveDays))
	if err != nil {
		return nil, err
	}
	arts, err := s.entryArticles(ctx, entries)
	if err != nil {
		return nil, err
	}
	loc := zone(sub.TZ)
	p := &archivePage{Sub: sub, Days: delivery.ArchiveDays}
	sctx, cancel := context.WithTimeout(ctx, summaryBudget)
	defer cancel()
	for i, e := range entries {
		a := arts[i]
		if a == nil || !webURL(a.URL) {
			continue // expired (articles keep 8 days), or nothing to link
		}
		// By the time it matched: the list's order, so days stay whole.
		at := e.At.In(loc)
		day := at.Format("2006-01-02")
		if n := len(p.Groups); n == 0 || p.Groups[n-1].ID != day {
			heading := L.Day(at)
			if at.Year() != now.In(loc).Year() {
				heading = L.Date(at, now.In(loc))
			}
			p.Groups = append(p.Groups, archiveDay{ID: day, Heading: heading})
		}
		it := archiveItem{Title: cmp.Or(a.Title, a.URL), URL: a.URL, Source: a.SourceName(), Topic: e.Topic,
			Clock: L.Clock(at), ISO: at.Format(time.RFC3339)}
		if text := s.entrySummary(sctx, a, e.Topic); text != "" {
			it.Summary = marked(text, e.Topic)
		}
		g := &p.Groups[len(p.Groups)-1]
		g.Items = append(g.Items, it)
		p.Count++
	}
	return p, nil
}

// marked is text as HTML with the topic's words in <mark>: the Atom
// feed's highlighter (subscriptions.Highlight) escapes everything and
// marks with <b>, which is the only markup in what it returns.
func marked(text, topic string) template.HTML {
	h := subscriptions.Highlight(text, topic)
	return template.HTML(strings.NewReplacer("<b>", "<mark>", "</b>", "</mark>").Replace(h))
}

// entryArticles loads the article of each feed entry, nil where it expired.
func (s *Server) entryArticles(ctx context.Context, entries []delivery.FeedEntry) ([]*article.Article, error) {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.Article
	}
	return articles.LoadMany(ctx, s.st, ids)
}
