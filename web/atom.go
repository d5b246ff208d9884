package web

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/subscriptions"
)

// The Atom 1.0 document of a subscriber's own feed (RFC 4287). Every
// string goes through encoding/xml, which escapes markup and replaces
// characters XML cannot hold, so a hostile title stays text.
type atomFeed struct {
	XMLName   xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID        string      `xml:"id"`
	Title     string      `xml:"title"`
	Updated   string      `xml:"updated"`
	Author    atomPerson  `xml:"author"`
	Generator string      `xml:"generator"`
	Links     []atomLink  `xml:"link"`
	Entries   []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr"`
	Href string `xml:"href,attr"`
	Type string `xml:"type,attr,omitempty"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

type atomEntry struct {
	ID        string        `xml:"id"`
	Title     atomText      `xml:"title"`
	Link      atomLink      `xml:"link"`
	Updated   string        `xml:"updated"`
	Published string        `xml:"published,omitempty"`
	Summary   *atomText     `xml:"summary,omitempty"`
	Category  *atomCategory `xml:"category,omitempty"`
	Source    *atomSource   `xml:"source,omitempty"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

type atomSource struct {
	Title string    `xml:"title,omitempty"`
	Link  *atomLink `xml:"link,omitempty"`
}

// summaryRunes caps an entry's summary; summaryBudget is how long one
// request of a feed may spend getting summaries.
const (
	summaryRunes  = 400
	summaryBudget = 3 * time.Second
)

// feed serves GET /feed/{id}/{secret}: the subscriber's latest matches as
// Atom, with an ETag so feed readers that poll often get a 304. A wrong
// secret and a missing subscriber get the same 404.
func (s *Server) feed(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	sub, err := s.subs.Get(ctx, id)
	if errors.Is(err, subscriptions.ErrNotFound) || err == nil && !delivery.FeedSecretOK(sub, r.PathValue("secret")) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.log.Error("feed: read subscriber", "subscriber", id, "err", err)
		http.Error(w, "Something went wrong; try again later.", http.StatusInternalServerError)
		return
	}
	body, err := s.atom(ctx, sub, r.PathValue("secret"))
	if err != nil {
		s.log.Error("feed: build", "subscriber", id, "err", err)
		http.Error(w, "Something went wrong; try again later.", http.StatusInternalServerError)
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	// private: the feed is one subscriber's; a shared cache must not keep it.
	h.Set("Cache-Control", "private, max-age=60")
	h.Set("Referrer-Policy", "no-referrer")
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Write(body)
}

// etagMatch applies If-None-Match's weak comparison (RFC 9110 §13.1.2).
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// atom renders a subscriber's feed document.
func (s *Server) atom(ctx context.Context, sub *subscriptions.Subscriber, secret string) ([]byte, error) {
	entries, err := delivery.Feed(ctx, s.st, sub.ID)
	if err != nil {
		return nil, err
	}
	arts, err := s.entryArticles(ctx, entries)
	if err != nil {
		return nil, err
	}
	name := cmp.Or(s.SiteName, "Herald")
	idSum := sha256.Sum256([]byte(sub.ID))
	f := atomFeed{
		// The id stays when the secret rotates, and names no chat.
		ID:        "urn:herald:feed:" + hex.EncodeToString(idSum[:16]),
		Title:     name + ": your matches",
		Author:    atomPerson{Name: name},
		Generator: "Herald",
		Links:     []atomLink{{Rel: "self", Href: delivery.FeedURL(s.PublicURL, sub.ID, secret), Type: "application/atom+xml"}},
	}
	// Summaries are mostly cached (the alert or digest asked for them),
	// but a miss may wait on a model: the whole feed gets a few seconds of
	// that, then entries fall back to the article's own summary.
	sctx, cancel := context.WithTimeout(ctx, summaryBudget)
	defer cancel()
	updated := sub.Created
	for i, e := range entries {
		a := arts[i]
		if a == nil || !webURL(a.URL) {
			continue // gone (articles expire) or with no link to give
		}
		if e.At.After(updated) {
			updated = e.At
		}
		ent := atomEntry{
			ID:       "urn:herald:article:" + a.ID,
			Title:    atomText{Type: "text", Text: cmp.Or(a.Title, a.URL)},
			Link:     atomLink{Rel: "alternate", Href: a.URL},
			Updated:  atomTime(e.At),
			Category: &atomCategory{Term: e.Topic},
		}
		if a.Published != nil {
			ent.Published = atomTime(*a.Published)
		}
		if text := s.entrySummary(sctx, a, e.Topic); text != "" {
			ent.Summary = &atomText{Type: "html", Text: subscriptions.Highlight(text, e.Topic)}
		}
		if a.Source != "" || webURL(a.FeedURL) {
			src := &atomSource{Title: a.Source}
			if webURL(a.FeedURL) {
				src.Link = &atomLink{Rel: "self", Href: a.FeedURL}
			}
			ent.Source = src
		}
		f.Entries = append(f.Entries, ent)
	}
	if updated.IsZero() {
		updated = time.Unix(0, 0)
	}
	f.Updated = atomTime(updated)
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if err := xml.NewEncoder(&b).Encode(f); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// entrySummary is the Summarize hook's summary, or the article's own.
func (s *Server) entrySummary(ctx context.Context, a *article.Article, topic string) string {
	text := a.Summary
	if s.Summarize != nil && ctx.Err() == nil {
		text = s.Summarize(ctx, a, topic)
	}
	return clipRunes(strings.TrimSpace(text), summaryRunes)
}

func atomTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func webURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}

// clipRunes cuts s to at most n runes, at a space when there is one near.
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	cut := 0
	for i := range s {
		if n == 0 {
			cut = i
			break
		}
		n--
	}
	if sp := strings.LastIndexByte(s[:cut], ' '); sp > cut/2 {
		cut = sp
	}
	return s[:cut] + "…"
}
