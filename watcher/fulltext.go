package watcher

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/net/publicsuffix"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/extract"
	"github.com/herald-news/herald/fetch"
)

// Full text of short items.
const (
	// FullTextWords: an item whose feed text is shorter than this is a
	// teaser, and its page is fetched for the article itself.
	FullTextWords = 150
	// DefaultFullTextBudget is how many pages one poll fetches at most; the
	// other new items of a large batch keep their feed text, so adding a
	// feed with 200 teasers costs a bounded burst, not 200 page fetches.
	DefaultFullTextBudget = 20
	// DefaultFullTextWorkers is how many of those pages are fetched at once
	// for one feed (the fetcher's per-host limit applies as well).
	DefaultFullTextWorkers = 4
)

var errNotHTML = errors.New("page is not HTML")

// FullText fetches an article's page with the watcher's fetcher (same
// private-address guard, size cap and timeouts as feeds) and completes the
// article from it: the page's text when it is longer than the feed's,
// missing author, date, source name and language, and the page's own
// canonical URL when it names one on the same site.
func (w *Watcher) FullText(ctx context.Context, a *article.Article) error {
	resp, err := w.fetcher.Get(ctx, a.URL, fetch.Conditional{})
	if err != nil {
		w.fetched("page", "error", 0)
		return err
	}
	w.fetched("page", "ok", len(resp.Body))
	if !isHTML(resp.ContentType) {
		return fmt.Errorf("extract %s: %w (%s)", a.URL, errNotHTML, resp.ContentType)
	}
	res, err := extract.FromHTML(extract.ToUTF8(resp.Body, resp.Charset), resp.FinalURL)
	if err != nil {
		return err
	}
	if wordCount(res.Text) > wordCount(a.Text) {
		a.Text = res.Text
	}
	if a.Author == "" {
		a.Author = res.Byline
	}
	if a.Published == nil && res.Published != nil {
		a.Published = res.Published
	}
	if a.Source == "" {
		a.Source = res.SiteName
	}
	if a.Lang == "" {
		a.Lang = res.Lang
	}
	if a.Title == "" {
		a.Title = res.Title
	}
	if c := pageCanonical(a.URL, res.Canonical); c != "" {
		a.URL = c
	}
	return nil
}

func isHTML(contentType string) bool {
	return contentType == "" || contentType == "text/html" || contentType == "application/xhtml+xml"
}

// pageCanonical returns the page's declared canonical URL when it is usable
// as the article's identity: a valid web URL on the same site (same
// registrable domain, so www. and m. mirrors count), and not the site's
// front page, which careless templates declare on every article.
func pageCanonical(itemURL, declared string) string {
	if declared == "" {
		return ""
	}
	c, err := article.Canonical(declared)
	if err != nil {
		return ""
	}
	cu, err1 := url.Parse(c)
	iu, err2 := url.Parse(itemURL)
	if err1 != nil || err2 != nil {
		return ""
	}
	if cu.Path == "/" && cu.RawQuery == "" {
		return ""
	}
	if site(cu.Hostname()) != site(iu.Hostname()) {
		return ""
	}
	return c
}

// site is the registrable domain of a host (example.co.uk for
// news.example.co.uk), or the host itself for IPs and local names.
func site(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return d
	}
	return host
}

// completeBatch gives full text to the short articles among items (newest
// first), at most budget of them, workers at a time. An article whose page
// cannot be had keeps its feed text.
func (w *Watcher) completeBatch(ctx context.Context, items []*article.Article) {
	if w.Complete == nil {
		return
	}
	budget := w.FullTextBudget
	if budget <= 0 {
		budget = DefaultFullTextBudget
	}
	workers := max(w.FullTextWorkers, 1)
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for _, a := range items {
		if budget == 0 {
			break
		}
		if wordCount(a.Body()) >= FullTextWords {
			continue
		}
		budget--
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := w.Complete(ctx, a); err != nil && ctx.Err() == nil {
				w.log.Debug("full text not available", "article", a.URL, "err", err)
			}
		}()
	}
	wg.Wait()
}
