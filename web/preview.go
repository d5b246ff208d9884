package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/subscriptions"
)

const (
	previewArticles = 5000            // most recent articles a preview looks at
	previewShown    = 5               // matches listed per topic
	recentTTL       = 1 * time.Minute // how long the parsed recent articles are reused
)

// recentCache keeps the week's articles parsed for matching: a preview is
// asked for as the reader types, and re-reading and re-tokenising
// thousands of articles each time would be wasteful.
type recentCache struct {
	mu   sync.Mutex
	at   time.Time
	docs []recentDoc
}

type recentDoc struct {
	a   *article.Article
	doc *subscriptions.Doc
}

func (s *Server) recentDocs(ctx context.Context) ([]recentDoc, error) {
	s.recent.mu.Lock()
	defer s.recent.mu.Unlock()
	if s.recent.docs != nil && time.Since(s.recent.at) < recentTTL {
		return s.recent.docs, nil
	}
	arts, err := articles.Recent(ctx, s.st, previewArticles)
	if err != nil {
		return nil, err
	}
	docs := make([]recentDoc, 0, len(arts))
	for _, a := range arts {
		docs = append(docs, recentDoc{a: a, doc: subscriptions.NewDocLang(a.Title, a.URL, articles.MatchText(a), a.Lang)})
	}
	s.recent.docs, s.recent.at = docs, time.Now()
	return docs, nil
}

type previewResult struct {
	Articles int            `json:"articles"` // how many recent articles were searched
	Topics   []previewTopic `json:"topics"`
}

type previewTopic struct {
	Topic   string         `json:"topic"`
	Query   string         `json:"query,omitempty"` // normalised
	Error   string         `json:"error,omitempty"`
	Count   int            `json:"count"`
	Matches []previewMatch `json:"matches"`
}

type previewMatch struct {
	Title     string `json:"title"`
	URL       string `json:"url"`
	Source    string `json:"source"`
	Published string `json:"published,omitempty"`
}

func (s *Server) runPreview(ctx context.Context, raw string) (*previewResult, error) {
	docs, err := s.recentDocs(ctx)
	if err != nil {
		return nil, err
	}
	res := &previewResult{Articles: len(docs), Topics: []previewTopic{}}
	n := 0
	for _, line := range strings.Split(raw, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if n++; n > subscriptions.DefaultMaxTopics {
			break
		}
		t := previewTopic{Topic: line, Matches: []previewMatch{}}
		q, err := subscriptions.Parse(line)
		if err != nil {
			t.Error = err.Error()
			res.Topics = append(res.Topics, t)
			continue
		}
		t.Query = q.String()
		for _, d := range docs {
			if !q.Match(d.doc) {
				continue
			}
			t.Count++
			if len(t.Matches) < previewShown {
				m := previewMatch{Title: d.a.Title, URL: d.a.URL, Source: d.a.Source}
				if m.Source == "" {
					if u, err := url.Parse(d.a.URL); err == nil {
						m.Source = strings.TrimPrefix(u.Hostname(), "www.")
					}
				}
				if d.a.Published != nil {
					m.Published = d.a.Published.UTC().Format("2 Jan 15:04 UTC")
				}
				t.Matches = append(t.Matches, m)
			}
		}
		res.Topics = append(res.Topics, t)
	}
	return res, nil
}

// preview shows what topics would have matched this week. The page's
// script asks GET /preview?format=json as the reader types; without
// script, the form's Preview button posts the whole form here and gets the
// sign-up page back, filled in, with the results.
func (s *Server) preview(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	asJSON := r.FormValue("format") == "json" || strings.Contains(r.Header.Get("Accept"), "application/json")
	ctx := r.Context()
	if !s.allow(ctx, "preview", clientIP(r), s.PreviewLimit, time.Minute) {
		w.Header().Set("Retry-After", "60")
		if asJSON {
			http.Error(w, `{"error":"too many previews; wait a minute"}`, http.StatusTooManyRequests)
			return
		}
		s.fail(w, r, http.StatusTooManyRequests, "Too many previews from your network; please wait a minute.")
		return
	}
	res, err := s.runPreview(ctx, r.FormValue("topics"))
	if err != nil {
		s.log.Error("preview failed", "err", err)
		if asJSON {
			http.Error(w, `{"error":"preview unavailable"}`, http.StatusInternalServerError)
			return
		}
		s.fail(w, r, http.StatusInternalServerError, "The preview is unavailable; please try again.")
		return
	}
	if asJSON {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(res)
		return
	}
	in, _ := readPrefs(r)
	page := &signupPage{Email: s.su != nil, Preview: res, Values: in.values(r.FormValue("email"), r.FormValue("topics"))}
	// A posted form keeps its token if it is still good, else gets a fresh one.
	page.Form = r.PostFormValue("form")
	if !s.checkForm(r) {
		page.Form = s.formToken(s.formBinding(w, r))
	}
	s.render(w, r, http.StatusOK, "signup", page)
}
