package watcher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/net/html"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/extract"
	"github.com/herald-news/herald/fetch"
)

// Sources without a feed (sitemaps and section pages) give only links;
// each new link's page is fetched, extracted and published only if it
// reads as an article.
const (
	// MinArticleWords is the least text a page must have to be announced.
	MinArticleWords = 120
	// listLinks, listWordsPerLink and teaserWords tell a category page
	// from an article: many same-site article links in the content, little
	// text for each, in short paragraphs, is a list of teasers. An article
	// with a box of related links has long paragraphs.
	listLinks        = 8
	listWordsPerLink = 40
	teaserWords      = 25
)

// errNotArticle means a page was fetched but does not read as an article.
var errNotArticle = errors.New("page does not read as an article")

// ingestPages publishes the new ones among links found on a sitemap or a
// section page (newest first): each page is fetched, extracted and, if it
// reads as an article, published through the same path as feed items. A
// source's first fetch marks them seen. handled is false when some were
// left for the next poll (over the budget, or their fetch failed).
func (w *Watcher) ingestPages(ctx context.Context, f *Feed, stubs []*article.Article) (handled bool, err error) {
	var all []*article.Article
	ids := map[string]bool{}
	for _, a := range stubs {
		canon, err := article.Canonical(a.URL)
		if err != nil {
			continue
		}
		a.URL, a.ID = canon, article.IDFor(canon)
		if !ids[a.ID] {
			ids[a.ID] = true
			all = append(all, a)
		}
	}
	if f.New {
		if err := w.markSeen(ctx, all); err != nil {
			return false, err
		}
		return true, w.recordNew(ctx, f, 0, w.Now().UTC())
	}
	fresh, err := w.unseen(ctx, all)
	if err != nil {
		return false, err
	}
	handled = true
	budget := w.FullTextBudget
	if budget <= 0 {
		budget = DefaultFullTextBudget
	}
	if len(fresh) > budget {
		fresh, handled = fresh[:budget], false
	}
	now := w.Now().UTC()
	got := make([]*article.Article, len(fresh))
	var done []*article.Article // not articles, or not ours to fetch: never again
	var mu sync.Mutex
	sem := make(chan struct{}, max(w.FullTextWorkers, 1))
	var wg sync.WaitGroup
	for i, stub := range fresh {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return false, ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			a, err := w.fetchArticle(ctx, f, stub)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				a.SeenAt = now
				got[i] = a
			case errors.Is(err, errNotArticle), errors.Is(err, errDisallowed), errors.Is(err, errNotHTML), gone(err):
				w.log.Debug("link skipped", "feed", f.URL, "article", stub.URL, "err", err)
				done = append(done, stub)
			default:
				if ctx.Err() == nil {
					w.log.Info("article page failed; trying again next poll", "feed", f.URL, "article", stub.URL, "err", err)
				}
				handled = false
			}
		}()
	}
	wg.Wait()
	if err := w.markSeen(ctx, done); err != nil {
		return false, err
	}
	n := 0
	// Oldest first, so the stream keeps publication order.
	for i := len(got) - 1; i >= 0; i-- {
		if got[i] == nil {
			continue
		}
		ok, err := w.publish(ctx, got[i], fresh[i].ID)
		if err != nil {
			return false, err
		}
		if ok {
			n++
		}
	}
	return handled, w.recordNew(ctx, f, n, now)
}

// fetchArticle fetches a linked page (if robots.txt allows) and reads the
// article on it. The page's own title wins over the sitemap's news:title.
func (w *Watcher) fetchArticle(ctx context.Context, f *Feed, stub *article.Article) (*article.Article, error) {
	if ok, err := w.allowed(ctx, stub.URL); err != nil {
		return nil, err
	} else if !ok {
		return nil, fmt.Errorf("fetch %s: %w", stub.URL, errDisallowed)
	}
	resp, err := w.fetcher.Get(ctx, stub.URL, fetch.Conditional{})
	if err != nil {
		w.fetched("page", "error", 0)
		return nil, err
	}
	w.fetched("page", "ok", len(resp.Body))
	if !isHTML(resp.ContentType) {
		return nil, fmt.Errorf("%s: %w (%s)", stub.URL, errNotHTML, resp.ContentType)
	}
	page := extract.ToUTF8(resp.Body, resp.Charset)
	res, err := extract.FromHTML(page, resp.FinalURL)
	if errors.Is(err, extract.ErrNoContent) {
		return nil, fmt.Errorf("%s: %w: %v", stub.URL, errNotArticle, err)
	}
	if err != nil {
		return nil, err
	}
	if why := notArticle(res, page, resp.FinalURL); why != "" {
		return nil, fmt.Errorf("%s: %w: %s", stub.URL, errNotArticle, why)
	}
	a := &article.Article{
		ID: stub.ID, URL: stub.URL, Title: res.Title, Text: res.Text, Author: res.Byline,
		Published: res.Published, Source: res.SiteName, Lang: res.Lang, FeedURL: f.URL,
		Categories: []string{},
	}
	if a.Title == "" {
		a.Title = stub.Title
	}
	if a.Published == nil {
		a.Published = stub.Published
	}
	if a.Source == "" {
		a.Source = f.Title
	}
	a.Summary = summaryOf(res.Text)
	if c := pageCanonical(a.URL, res.Canonical); c != "" {
		a.URL = c
	}
	return a, nil
}

// gone reports a page fetch that will not work next time either: the
// page is missing or refused (4xx other than 429), too large, or on an
// address Herald does not fetch.
func gone(err error) bool {
	var se *fetch.StatusError
	if errors.As(err, &se) {
		return se.Code >= 400 && se.Code < 500 && se.Code != http.StatusTooManyRequests
	}
	return errors.Is(err, fetch.ErrTooLarge) || errors.Is(err, fetch.ErrPrivateAddress) ||
		errors.Is(err, fetch.ErrScheme) || errors.Is(err, fetch.ErrTooManyRedirects)
}

// notArticle says why an extracted page is not an article, or "".
func notArticle(res *extract.Result, page []byte, pageURL string) string {
	if strings.TrimSpace(res.Title) == "" {
		return "no title"
	}
	words := wordCount(res.Text)
	if words < MinArticleWords {
		return fmt.Sprintf("%d words of text, fewer than %d", words, MinArticleWords)
	}
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return ""
	}
	base, _ := url.Parse(pageURL)
	paragraphs := len(strings.Split(strings.TrimSpace(res.Text), "\n\n"))
	if n := len(sectionLinks(doc, base)); n >= listLinks && words < n*listWordsPerLink && words/paragraphs < teaserWords {
		return fmt.Sprintf("a list page: %d article links, %d words in %d paragraphs", n, words, paragraphs)
	}
	return ""
}

// summaryOf is the first paragraph of a text, cut to a teaser's length.
func summaryOf(text string) string {
	p, _, _ := strings.Cut(strings.TrimSpace(text), "\n\n")
	p = strings.Join(strings.Fields(p), " ")
	if r := []rune(p); len(r) > 300 {
		p = string(r[:300]) + "…"
	}
	return p
}
