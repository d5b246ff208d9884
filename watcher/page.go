package watcher

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/extract"
)

// A section page (a site's front page or a section's) with no feed is
// watched as the list of article links in its main content.

// pollPage fetches a section page and publishes the articles behind the
// links that were not on it before.
func (w *Watcher) pollPage(ctx context.Context, f *Feed) (time.Duration, error) {
	resp, err := w.fetchCrawled(ctx, f, "section")
	if err != nil {
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
