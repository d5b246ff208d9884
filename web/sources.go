package web

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/herald-news/herald/locale"
)

// Source is one watched source as the sign-up page lists it.
type Source struct {
	Name string
	URL  string // the site's address, when known
}

// Limits of what the sign-up page shows about Herald.
const (
	sourcesShown   = 40              // sources listed by name
	sampleArticles = 3               // articles in the sample digest
	sampleRunes    = 220             // length of a sample summary
	sourcesTTL     = 5 * time.Minute // how long the list is reused
)

// sourcesCache keeps the list of sources: reading every feed's state for
// each visit of the sign-up page would be wasteful.
type sourcesCache struct {
	mu   sync.Mutex
	at   time.Time
	list []Source
}

// watched returns the sources Herald watches, sorted by name, one per
// name: from the Sources hook (the watcher's feed list), else the
// sources of the week's articles.
func (s *Server) watched(ctx context.Context) []Source {
	s.sources.mu.Lock()
	defer s.sources.mu.Unlock()
	if s.sources.list != nil && time.Since(s.sources.at) < sourcesTTL {
		return s.sources.list
	}
	var list []Source
	if s.Sources != nil {
		var err error
		if list, err = s.Sources(ctx); err != nil {
			s.log.Warn("sign-up page: list of sources", "err", err)
			return nil
		}
	} else {
		docs, err := s.recentDocs(ctx)
		if err != nil {
			s.log.Warn("sign-up page: recent articles", "err", err)
			return nil
		}
		for _, d := range docs {
			list = append(list, Source{Name: d.a.SourceName()})
		}
	}
	seen := map[string]bool{}
	out := make([]Source, 0, len(list))
	for _, src := range list {
		src.Name = strings.TrimSpace(src.Name)
		k := strings.ToLower(src.Name)
		if src.Name == "" || seen[k] {
			continue
		}
		seen[k] = true
		if !webURL(src.URL) {
			src.URL = ""
		}
		out = append(out, src)
	}
	slices.SortFunc(out, func(a, b Source) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	s.sources.list, s.sources.at = out, time.Now()
	return out
}

// sampleItem is one article of the sign-up page's sample digest.
type sampleItem struct {
	Title, URL, Source, Summary string
	Published                   *shownTime
}

// fillSignup adds to a sign-up page what tells a newcomer what Herald is:
// the sources it watches and a digest made of the latest articles, their
// times in the zone the form names.
func (s *Server) fillSignup(ctx context.Context, L locale.P, p *signupPage) {
	all := s.watched(ctx)
	p.SourceCount = len(all)
	p.Sources = all[:min(len(all), sourcesShown)]
	docs, err := s.recentDocs(ctx)
	if err != nil {
		s.log.Warn("sign-up page: recent articles", "err", err)
		return
	}
	loc, now := zone(p.Values.TZ), s.Now()
	stories := map[string]bool{}
	for _, d := range docs {
		if len(p.Sample) == sampleArticles {
			break
		}
		story := cmp.Or(d.a.StoryID, d.a.ID)
		if stories[story] || !webURL(d.a.URL) {
			continue
		}
		stories[story] = true
		it := sampleItem{Title: cmp.Or(d.a.Title, d.a.URL), URL: d.a.URL, Source: d.a.SourceName(),
			Summary: clipRunes(strings.TrimSpace(d.a.Summary), sampleRunes)}
		if d.a.Published != nil {
			it.Published = showTime(L, *d.a.Published, loc, now)
		}
		p.Sample = append(p.Sample, it)
	}
}
