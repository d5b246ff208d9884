package web

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/locale"
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
	// HTML is the result as the page shows it, in the page's language:
	// the counts under the topics box and the lists of matches.
	HTML *previewHTML `json:"html,omitempty"`
}

type previewHTML struct {
	Check string `json:"check"`
	List  string `json:"list"`
}

type previewTopic struct {
	Topic   string         `json:"topic"`           // as typed
	Query   string         `json:"query,omitempty"` // normalised, as it would be stored
	Note    string         `json:"note,omitempty"`  // why Query differs from Topic, when it does
	Error   string         `json:"error,omitempty"`
	Count   int            `json:"count"`
	Matches []previewMatch `json:"matches"`
}

type previewMatch struct {
	Title     string     `json:"title"`
	URL       string     `json:"url"`
	Source    string     `json:"source"`
	Published *shownTime `json:"published,omitempty"`
}

// shownTime is a time as a page shows it, in the reader's zone and
// language, with its machine-readable form for <time datetime>.
type shownTime struct {
	Text string `json:"text"`
	ISO  string `json:"iso"`
}

// showTime writes t for a reader in loc: "2 December at 08:35".
func showTime(L locale.P, t time.Time, loc *time.Location, now time.Time) *shownTime {
	t = t.In(loc)
	return &shownTime{Text: L.T("at_time", "Day", L.Date(t, now.In(loc)), "Clock", L.Clock(t)), ISO: t.Format(time.RFC3339)}
}

// runPreview matches each line of raw against the week's articles; times
// are shown in loc. A story carried by several sources counts and shows
// once, as it would be delivered once.
func (s *Server) runPreview(ctx context.Context, L locale.P, raw string, loc *time.Location) (*previewResult, error) {
	docs, err := s.recentDocs(ctx)
	if err != nil {
		return nil, err
	}
	now := s.Now()
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
			t.Error = topicProblem(L, line, err)
			res.Topics = append(res.Topics, t)
			continue
		}
		t.Query = q.String()
		t.Note = rewriteNote(L, line, t.Query)
		stories := map[string]bool{}
		for _, d := range docs {
			if !q.Match(d.doc) {
				continue
			}
			story := cmp.Or(d.a.StoryID, d.a.ID)
			if stories[story] {
				continue
			}
			stories[story] = true
			t.Count++
			if len(t.Matches) < previewShown {
				m := previewMatch{Title: cmp.Or(d.a.Title, d.a.URL), URL: d.a.URL, Source: d.a.SourceName()}
				if d.a.Published != nil {
					m.Published = showTime(L, *d.a.Published, loc, now)
				}
				t.Matches = append(t.Matches, m)
			}
		}
		res.Topics = append(res.Topics, t)
	}
	return res, nil
}

// rewriteNote tells a reader, in their language, that and why the stored
// form of a topic differs from what they typed (subscriptions.Rewritten,
// as the bot does); "" when it does not.
func rewriteNote(L locale.P, typed, stored string) string {
	w, differs := subscriptions.Rewritten(typed, stored)
	if !differs {
		return ""
	}
	return L.T("web.rewrite.note", "Typed", clipRunes(strings.Join(strings.Fields(typed), " "), 120), "Stored", stored,
		"Why", strings.Join(w.Reasons(L.Lang()), L.T("web.rewrite.sep")))
}

// previewFragments renders a result as the page shows it.
func (s *Server) previewFragments(r *http.Request, L locale.P, res *previewResult) (*previewHTML, error) {
	pd := pageData{L: L, Site: cmp.Or(s.SiteName, "Herald")}
	var check, list bytes.Buffer
	if err := pages.ExecuteTemplate(&check, "check", map[string]any{"P": pd, "V": res}); err != nil {
		return nil, err
	}
	if err := pages.ExecuteTemplate(&list, "preview", map[string]any{"P": pd, "V": res}); err != nil {
		return nil, err
	}
	if len(res.Topics) == 0 {
		list.Reset()
		list.WriteString(`<p class="hint">` + template.HTMLEscapeString(L.T("web.preview.empty")) + `</p>`)
	}
	return &previewHTML{Check: check.String(), List: list.String()}, nil
}

// preview shows what topics would have matched this week. The page's
// script asks GET /preview?format=json as the reader types; without
// script, the form's Preview button posts the whole form here and gets the
// sign-up page back, filled in, with the results.
func (s *Server) preview(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "web.fail.form")
		return
	}
	asJSON := r.FormValue("format") == "json" || strings.Contains(r.Header.Get("Accept"), "application/json")
	ctx := r.Context()
	L := s.printer(r, nil)
	if !s.allow(ctx, "preview", clientIP(r), s.PreviewLimit, time.Minute) {
		w.Header().Set("Retry-After", "60")
		if asJSON {
			http.Error(w, `{"error":"too many previews; wait a minute"}`, http.StatusTooManyRequests)
			return
		}
		s.fail(w, r, http.StatusTooManyRequests, "web.fail.preview_limit")
		return
	}
	res, err := s.runPreview(ctx, L, r.FormValue("topics"), zone(strings.TrimSpace(r.FormValue("tz"))))
	if err == nil && asJSON {
		res.HTML, err = s.previewFragments(r, L, res)
	}
	if err != nil {
		s.log.Error("preview failed", "err", err)
		if asJSON {
			http.Error(w, `{"error":"preview unavailable"}`, http.StatusInternalServerError)
			return
		}
		s.fail(w, r, http.StatusInternalServerError, "web.fail.preview")
		return
	}
	if asJSON {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Add("Vary", "Accept-Language, Cookie")
		_ = json.NewEncoder(w).Encode(res)
		return
	}
	in, _ := readPrefs(r, L)
	page := &signupPage{Email: s.su != nil}
	page.Preview, page.Values = res, in.values(r)
	// A posted form keeps its token if it is still good, else gets a fresh one.
	page.Form = r.PostFormValue("form")
	if !s.checkForm(r) {
		page.Form = s.formToken(s.formBinding(w, r))
	}
	s.fillSignup(ctx, L, page)
	s.render(w, r, http.StatusOK, "signup", page)
}
