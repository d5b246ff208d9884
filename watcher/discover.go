package watcher

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/herald-news/herald/feed"
	"github.com/herald-news/herald/fetch"
)

// The kinds of source a watched URL can be.
const (
	KindFeed    = "feed"    // RSS, Atom or JSON Feed
	KindSitemap = "sitemap" // a sitemap or sitemap index, news extension or lastmod
	KindPage    = "page"    // a section page whose new article links are watched
)

// commonFeedPaths are where sites keep their feed when their pages do not
// link it, tried in this order on the site's root.
var commonFeedPaths = []string{"/feed", "/rss", "/rss.xml", "/atom.xml", "/index.xml", "/feed.json"}

const (
	// maxAlternates bounds the linked feeds tried on one page.
	maxAlternates = 4
	// discoverTimeout bounds looking at one URL (up to 15 fetches): an
	// operator waits for the answer, and a slow site is taken as a feed
	// and looked at again on its first poll (rekind).
	discoverTimeout = 45 * time.Second
)

// errUnknownSource means a URL is neither a feed, a sitemap nor a page.
var errUnknownSource = errors.New("not a feed, a sitemap or an HTML page")

// source is what discovery makes of a URL.
type source struct {
	URL  string
	Kind string
	From string // the page it was found on, when not the URL given
}

// discover works out what to watch for a URL: the URL itself if it is a
// feed or a sitemap; for an HTML page, the feed it links (the site-wide
// one when several), else a feed at a usual path, else a sitemap named in
// robots.txt, else the page itself as a section page.
func (w *Watcher) discover(ctx context.Context, u string) (source, error) {
	ctx, cancel := context.WithTimeout(ctx, discoverTimeout)
	defer cancel()
	resp, err := w.fetcher.Get(ctx, u, fetch.Conditional{})
	if err != nil {
		return source{}, err
	}
	if isFeed(resp) {
		return source{URL: u, Kind: KindFeed}, nil
	}
	if isSitemap(resp.Body) {
		return source{URL: u, Kind: KindSitemap}, nil
	}
	if !isHTML(resp.ContentType) {
		return source{}, fmt.Errorf("%s: %w (%s)", u, errUnknownSource, resp.ContentType)
	}
	alts := feed.Alternates(resp.Body, resp.FinalURL)
	rankAlternates(alts, resp.FinalURL)
	for _, alt := range alts[:min(len(alts), maxAlternates)] {
		if w.feedAt(ctx, alt.URL) {
			return source{URL: alt.URL, Kind: KindFeed, From: u}, nil
		}
	}
	final, err := url.Parse(resp.FinalURL)
	if err != nil {
		return source{}, fmt.Errorf("discover %s: %w", u, err)
	}
	origin := originOf(final)
	for _, p := range commonFeedPaths {
		if w.feedAt(ctx, origin+p) {
			return source{URL: origin + p, Kind: KindFeed, From: u}, nil
		}
	}
	if rules, err := w.robotsFor(ctx, origin); err == nil {
		maps := slices.Clone(rules.sitemaps)
		// A news sitemap first: it is the one made for fresh articles.
		slices.SortStableFunc(maps, func(a, b string) int {
			return cmp.Compare(boolRank(!strings.Contains(strings.ToLower(a), "news")), boolRank(!strings.Contains(strings.ToLower(b), "news")))
		})
		for _, sm := range maps[:min(len(maps), 3)] {
			if r, err := w.fetcher.Get(ctx, sm, fetch.Conditional{}); err == nil && isSitemap(r.Body) {
				return source{URL: sm, Kind: KindSitemap, From: u}, nil
			}
		}
	}
	if ctx.Err() != nil {
		// Out of time before every place was tried: no verdict.
		return source{}, fmt.Errorf("discover %s: %w", u, ctx.Err())
	}
	return source{URL: u, Kind: KindPage}, nil
}

// feedAt reports whether a URL serves a feed Herald can read.
func (w *Watcher) feedAt(ctx context.Context, u string) bool {
	resp, err := w.fetcher.Get(ctx, u, fetch.Conditional{})
	return err == nil && isFeed(resp)
}

func isFeed(resp *fetch.Response) bool {
	if isHTML(resp.ContentType) && resp.ContentType != "" {
		return false
	}
	_, err := feed.Parse(resp.Body, resp.FinalURL, resp.ContentType+";charset="+resp.Charset)
	return err == nil
}

// rankAlternates puts the site-wide feed first among those a page links:
// not a comments feed, on the page's own host, with the shortest path;
// document order breaks ties.
func rankAlternates(alts []feed.Alternate, pageURL string) {
	page, _ := url.Parse(pageURL)
	score := func(a feed.Alternate) int {
		s := 0
		if strings.Contains(strings.ToLower(a.URL+" "+a.Title), "comment") {
			s += 100
		}
		if u, err := url.Parse(a.URL); err == nil {
			if page != nil && !strings.EqualFold(u.Host, page.Host) {
				s += 10
			}
			s += strings.Count(strings.Trim(u.Path, "/"), "/")
		}
		return s
	}
	slices.SortStableFunc(alts, func(a, b feed.Alternate) int { return cmp.Compare(score(a), score(b)) })
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// lookAt is what Add watches for u: u itself when it is watched already;
// else what discover finds. A URL that cannot be
// fetched now is taken as a feed, as Herald always took them, and its
// polls will say what is wrong.
func (w *Watcher) lookAt(ctx context.Context, u string) (source, error) {
	here := source{URL: u, Kind: KindFeed}
	if _, watched, err := w.resolve(ctx, u); err != nil {
		return here, fmt.Errorf("add feed %s: %w", u, err)
	} else if watched {
		return here, nil
	}
	found, err := w.discover(ctx, u)
	switch {
	case err == nil:
		return found, nil
	case ctx.Err() != nil:
		return here, ctx.Err()
	case errors.Is(err, errUnknownSource):
		return here, err
	}
	w.log.Info("cannot look at the URL now; watching it as a feed", "feed", u, "err", err)
	return here, nil
}

// rekind looks again at a source taken as a feed because it could not be
// fetched when it was added, once its first fetch shows it is not a feed
// (an HTML page, a sitemap): the source becomes what discover finds there,
// and is polled as that. again reports that it was, and err that poll's
// outcome.
func (w *Watcher) rekind(ctx context.Context, f *Feed, resp *fetch.Response) (again bool, err error) {
	if !f.New || f.Kind != KindFeed || f.rekinded || (!isHTML(resp.ContentType) && !isSitemap(resp.Body)) {
		return false, nil
	}
	f.rekinded = true
	src, err := w.discover(ctx, f.URL)
	if err != nil || (src.Kind == KindFeed && src.URL == f.URL) {
		return false, nil
	}
	w.log.Info("source is not a feed; watching what it leads to", "feed", f.URL, "kind", src.Kind, "url", src.URL)
	if src.URL != f.URL {
		if err := w.move(ctx, f, src.URL); err != nil {
			return true, err
		}
	}
	if err := w.st.Redis.HSet(ctx, w.feedKey(f.ID), "kind", src.Kind).Err(); err != nil {
		return true, fmt.Errorf("record the kind of %s: %w", f.URL, err)
	}
	f.Kind = src.Kind
	f.ETag, f.LastModified = "", ""
	_, err = w.poll(ctx, f)
	return true, err
}
