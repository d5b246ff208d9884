package watcher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

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
	// maxSectionLinks bounds the links taken from one section page.
	maxSectionLinks = maxItems
)

// errNotArticle means a page was fetched but does not read as an article.
var errNotArticle = errors.New("page does not read as an article")

// pollPage fetches a section page and publishes the articles behind the
// links that were not on it before.
func (w *Watcher) pollPage(ctx context.Context, f *Feed) (time.Duration, error) {
	if ok, err := w.allowed(ctx, f.URL); err != nil {
		return 0, err
	} else if !ok {
		return 0, fmt.Errorf("fetch %s: %w", f.URL, errDisallowed)
	}
	resp, err := w.fetcher.Get(ctx, f.URL, fetch.Conditional{ETag: f.ETag, LastModified: f.LastModified})
	if err != nil {
		w.fetched("section", "error", 0)
		return 0, err
	}
	hint := max(resp.MaxAge, resp.RetryAfter)
	if resp.NotModified {
		w.fetched("section", "not_modified", 0)
		return hint, nil
	}
	w.fetched("section", "ok", len(resp.Body))
	if !isHTML(resp.ContentType) {
		return hint, fmt.Errorf("%s: %w (%s)", f.URL, errNotHTML, resp.ContentType)
	}
	doc, err := html.Parse(bytes.NewReader(extract.ToUTF8(resp.Body, resp.Charset)))
	if err != nil {
		return hint, fmt.Errorf("parse %s: %w", f.URL, err)
	}
	base, _ := url.Parse(resp.FinalURL)
	links := sectionLinks(doc, base)
	stubs := make([]*article.Article, len(links))
	for i, l := range links {
		stubs[i] = &article.Article{URL: l}
	}
	handled, err := w.ingestPages(ctx, f, stubs)
	if err != nil {
		return hint, err
	}
	meta := map[string]any{"etag": resp.ETag, "lm": resp.LastModified}
	if !handled {
		meta["etag"], meta["lm"] = "", ""
	}
	if t := pageTitle(doc); t != "" {
		meta["title"] = truncate(t, 200)
		f.Title = meta["title"].(string)
	}
	if err := w.st.Redis.HSet(ctx, w.feedKey(f.ID), meta).Err(); err != nil {
		return hint, fmt.Errorf("record page %s: %w", f.URL, err)
	}
	return hint, nil
}

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

// pageTitle is the document's <title>.
func pageTitle(doc *html.Node) string {
	var title string
	var walk func(*html.Node) bool
	walk = func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.DataAtom == atom.Title {
			title = strings.Join(strings.Fields(textOf(n)), " ")
			return true
		}
		if n.Type == html.ElementNode && n.DataAtom == atom.Body {
			return true
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if walk(c) {
				return true
			}
		}
		return false
	}
	walk(doc)
	return title
}

func textOf(n *html.Node) string {
	var sb strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			sb.WriteString(n.Data)
			sb.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return sb.String()
}

// noiseTags hold links that are never the content's: navigation, forms,
// scripts. header and footer count as noise only outside an article.
var noiseTags = map[atom.Atom]bool{
	atom.Nav: true, atom.Aside: true, atom.Form: true, atom.Script: true, atom.Style: true,
	atom.Noscript: true, atom.Template: true, atom.Select: true, atom.Button: true, atom.Menu: true,
}

// noiseRoles are ARIA landmarks that are not the main content.
var noiseRoles = map[string]bool{
	"navigation": true, "banner": true, "contentinfo": true, "search": true,
	"complementary": true, "menu": true, "menubar": true, "toolbar": true,
}

// noiseWords in a class or id mark a block of links that are not articles.
var noiseWords = map[string]bool{
	"nav": true, "navbar": true, "navigation": true, "menu": true, "footer": true, "masthead": true,
	"breadcrumb": true, "breadcrumbs": true, "pagination": true, "pager": true, "paging": true,
	"tags": true, "tag": true, "taglist": true, "share": true, "sharing": true, "social": true,
	"sidebar": true, "widget": true, "comments": true, "cookie": true, "newsletter": true,
	"subscribe": true, "skip": true, "topbar": true, "toolbar": true, "legal": true, "copyright": true,
	"trending": true, "promo": true, "ad": true, "ads": true, "sponsored": true,
}

// sectionWords are path segments of pages that list articles rather than
// being one.
var sectionWords = map[string]bool{
	"tag": true, "tags": true, "category": true, "categories": true, "topic": true, "topics": true,
	"author": true, "authors": true, "page": true, "search": true, "section": true, "login": true,
	"account": true, "subscribe": true, "newsletter": true, "newsletters": true, "about": true,
	"contact": true, "privacy": true, "terms": true, "feed": true, "rss": true, "archive": true,
	"archives": true, "video": true, "videos": true, "gallery": true, "podcasts": true, "live": true,
}

// sectionLinks returns, in document order and without repeats, the links
// in a page's main content that lead to what looks like an article on the
// same site: not in navigation, header, footer, tag lists, pagination or
// share boxes, and not to tag, category, author or paging URLs.
func sectionLinks(doc *html.Node, base *url.URL) []string {
	if base == nil {
		return nil
	}
	root := doc
	if m := findMain(doc); m != nil {
		root = m
	}
	self := strings.TrimSuffix(base.Host+base.EscapedPath(), "/")
	seen := map[string]bool{}
	var out []string
	var walk func(n *html.Node, inArticle bool)
	walk = func(n *html.Node, inArticle bool) {
		if n.Type == html.ElementNode {
			if isNoise(n, inArticle) {
				return
			}
			switch n.DataAtom {
			case atom.Article, atom.Main:
				inArticle = true
			case atom.A:
				if u := articleLink(attr(n, "href"), base, self); u != "" && !seen[u] && len(out) < maxSectionLinks {
					seen[u] = true
					out = append(out, u)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inArticle)
		}
	}
	walk(root, root != doc)
	return out
}

// findMain is the page's <main> (or role="main") element, if it has one.
func findMain(n *html.Node) *html.Node {
	if n.Type == html.ElementNode && (n.DataAtom == atom.Main || attr(n, "role") == "main") {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if m := findMain(c); m != nil {
			return m
		}
	}
	return nil
}

func isNoise(n *html.Node, inArticle bool) bool {
	if noiseTags[n.DataAtom] || noiseRoles[strings.ToLower(attr(n, "role"))] {
		return true
	}
	if !inArticle && (n.DataAtom == atom.Header || n.DataAtom == atom.Footer) {
		return true
	}
	if inArticle && n.DataAtom == atom.Footer {
		return true // an entry's footer holds its tags and categories
	}
	for _, s := range []string{attr(n, "class"), attr(n, "id")} {
		for _, word := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
			return (r < 'a' || r > 'z') && (r < '0' || r > '9')
		}) {
			if noiseWords[word] || (!inArticle && word == "header") {
				return true
			}
		}
	}
	return false
}

// articleLink resolves href and returns it when it looks like an article
// of the site: same registrable domain, not the page itself, no section
// segment, not a file, and a slug or number in its path.
func articleLink(href string, base *url.URL, self string) string {
	href = strings.TrimSpace(href)
	if href == "" || strings.HasPrefix(href, "#") {
		return ""
	}
	ref, err := url.Parse(href)
	if err != nil {
		return ""
	}
	u := base.ResolveReference(ref)
	u.Fragment, u.RawFragment = "", ""
	if (u.Scheme != "http" && u.Scheme != "https") || site(u.Hostname()) != site(base.Hostname()) {
		return ""
	}
	if strings.TrimSuffix(u.Host+u.EscapedPath(), "/") == self {
		return ""
	}
	q := u.Query()
	if q.Has("page") || q.Has("p") || q.Has("s") || q.Has("q") {
		return ""
	}
	segs := strings.FieldsFunc(strings.ToLower(u.Path), func(r rune) bool { return r == '/' })
	if len(segs) == 0 {
		return ""
	}
	for _, s := range segs {
		if sectionWords[s] {
			return ""
		}
	}
	last := segs[len(segs)-1]
	switch ext := path.Ext(last); ext {
	case "", ".html", ".htm", ".php", ".aspx", ".shtml":
	default:
		return ""
	}
	if !sluglike(last) && !hasDigits(u.Path, 4) {
		return ""
	}
	return u.String()
}

// sluglike: a headline turned into a path segment ("storm-hits-coast").
func sluglike(s string) bool {
	return len(s) >= 12 && strings.Count(s, "-")+strings.Count(s, "_") >= 2
}

// hasDigits reports a run of at least n digits (article numbers, dates).
func hasDigits(s string, n int) bool {
	run := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			run++
			if run >= n {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}
