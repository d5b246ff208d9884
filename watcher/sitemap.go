package watcher

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/html/charset"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/fetch"
)

// Sitemaps (sitemaps.org, with Google's news extension) are watched like
// feeds: a <urlset> lists article URLs, with news:publication_date and
// news:title or a lastmod; a <sitemapindex> lists child sitemaps, of which
// only the recently modified are fetched, each with its own validators.
const (
	// SitemapRecent is how old an entry (or a child sitemap's lastmod) may
	// be and still count as news: the two days a news sitemap covers.
	SitemapRecent = 48 * time.Hour
	// maxSitemapChildren bounds the child sitemaps one poll fetches.
	maxSitemapChildren = 10
	// undatedChildren is how many children of an index that dates none of
	// them are fetched: the last ones listed, where sites append new ones.
	undatedChildren   = 3
	maxSitemapEntries = 50000 // the sitemaps.org limit per file
)

// sitemapChildrenKey holds the validators of an index's recent children
// (hash: child URL → "etag\nlast-modified"), so that a child that did not
// change costs a 304.
func (w *Watcher) sitemapChildrenKey(id string) string { return w.st.Key("feed", id, "sitemaps") }

type sitemapEntry struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod"`
	News    struct {
		Date  string `xml:"publication_date"`
		Title string `xml:"title"`
	} `xml:"news"`
}

type sitemapDoc struct {
	XMLName  xml.Name
	URLs     []sitemapEntry `xml:"url"`
	Sitemaps []sitemapEntry `xml:"sitemap"`
}

// parseSitemap reads a sitemap or sitemap index; a gzipped file (.xml.gz
// served as a file, not as an encoding) is unpacked under the size cap.
func parseSitemap(body []byte) (*sitemapDoc, error) {
	if bytes.HasPrefix(body, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("read gzipped sitemap: %w", err)
		}
		unpacked, err := io.ReadAll(io.LimitReader(zr, fetch.DefaultMaxBody+1))
		if err != nil {
			return nil, fmt.Errorf("read gzipped sitemap: %w", err)
		}
		if len(unpacked) > fetch.DefaultMaxBody {
			return nil, fmt.Errorf("read gzipped sitemap: %w", fetch.ErrTooLarge)
		}
		body = unpacked
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.CharsetReader = charset.NewReaderLabel
	var doc sitemapDoc
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("read sitemap: %w", err)
	}
	if doc.XMLName.Local != "urlset" && doc.XMLName.Local != "sitemapindex" {
		return nil, fmt.Errorf("read sitemap: root element is <%s>, not <urlset> or <sitemapindex>", doc.XMLName.Local)
	}
	if len(doc.URLs) > maxSitemapEntries {
		doc.URLs = doc.URLs[:maxSitemapEntries]
	}
	if len(doc.Sitemaps) > maxSitemapEntries {
		doc.Sitemaps = doc.Sitemaps[:maxSitemapEntries]
	}
	return &doc, nil
}

// isSitemap tells a sitemap from other XML by its root element.
func isSitemap(body []byte) bool {
	_, err := parseSitemap(body)
	return err == nil
}

// w3cLayouts are the W3C Datetime profiles sitemaps use, and a few
// near-misses seen in the wild.
var w3cLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02T15:04",
	"2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05", "2006-01-02", "2006-01", "2006",
}

// parseW3C reads a sitemap date; nil when there is none it can read.
func parseW3C(s string) *time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	for _, l := range w3cLayouts {
		if t, err := time.Parse(l, s); err == nil {
			u := t.UTC()
			return &u
		}
	}
	return nil
}

// entryDate is when an entry was published, as it says: the news date,
// else its lastmod.
func entryDate(e sitemapEntry) *time.Time {
	if t := parseW3C(e.News.Date); t != nil {
		return t
	}
	return parseW3C(e.LastMod)
}

// pollSitemap fetches a sitemap source (an index's recent children too)
// and publishes the pages of its new entries.
func (w *Watcher) pollSitemap(ctx context.Context, f *Feed) (time.Duration, error) {
	resp, err := w.fetchCrawled(ctx, f, "sitemap")
	if err != nil {
		return 0, err
	}
	hint := max(resp.MaxAge, resp.RetryAfter)
	now := w.Now()
	var doc *sitemapDoc
	if resp.NotModified {
		w.fetched("sitemap", "not_modified", 0)
		// An index may stay the same while its recent children grow (not
		// every site updates their lastmod): those of the last walk are
		// asked again, each with its own validators.
		known, err := w.st.Redis.HKeys(ctx, w.sitemapChildrenKey(f.ID)).Result()
		if err != nil {
			return hint, fmt.Errorf("read sitemap validators of %s: %w", f.URL, err)
		}
		if len(known) == 0 {
			return hint, nil
		}
		doc = &sitemapDoc{XMLName: xml.Name{Local: "sitemapindex"}}
		slices.Sort(known)
		for _, u := range known {
			doc.Sitemaps = append(doc.Sitemaps, sitemapEntry{Loc: u, LastMod: now.Format(time.RFC3339)})
		}
	} else {
		w.fetched("sitemap", "ok", len(resp.Body))
		doc, err = parseSitemap(resp.Body)
		if err != nil {
			return hint, fmt.Errorf("%s: %w", f.URL, err)
		}
	}
	entries := doc.URLs
	done, index := true, doc.XMLName.Local == "sitemapindex"
	var children map[string]string
	if index {
		entries, children, done, err = w.walkIndex(ctx, f, doc.Sitemaps, now)
		if err != nil {
			return hint, err
		}
	}
	handled, err := w.ingestPages(ctx, f, sitemapStubs(entries, now))
	if err != nil {
		return hint, err
	}
	// Validators are kept only when every entry was dealt with, so that
	// entries left for the next poll (over the page budget, or behind a
	// failed child) are read again rather than hidden behind a 304.
	etag, lm := resp.ETag, resp.LastModified
	if !done || !handled {
		etag, lm, children = "", "", nil
	}
	if err := w.st.Redis.HSet(ctx, w.feedKey(f.ID), "etag", etag, "lm", lm).Err(); err != nil {
		return hint, fmt.Errorf("record sitemap %s: %w", f.URL, err)
	}
	if index {
		// The hash holds only the children of this walk: older ones fall out.
		key := w.sitemapChildrenKey(f.ID)
		_, err = w.st.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, key)
			if len(children) > 0 {
				p.HSet(ctx, key, children)
			}
			return nil
		})
		if err != nil {
			return hint, fmt.Errorf("record sitemap validators of %s: %w", f.URL, err)
		}
	}
	return hint, nil
}

// sitemapStubs turns entries into articles to fetch: those dated within
// SitemapRecent, and undated ones, newest first. On a first fetch old
// entries are left out too; they are never news, so need no seen key.
func sitemapStubs(entries []sitemapEntry, now time.Time) []*article.Article {
	var dated, undated []*article.Article
	for _, e := range entries {
		loc := strings.TrimSpace(e.Loc)
		if loc == "" {
			continue
		}
		a := &article.Article{URL: loc, Title: strings.TrimSpace(e.News.Title), Published: entryDate(e)}
		switch {
		case a.Published == nil:
			undated = append(undated, a)
		case now.Sub(*a.Published) <= SitemapRecent:
			dated = append(dated, a)
		}
	}
	slices.SortStableFunc(dated, func(a, b *article.Article) int { return b.Published.Compare(*a.Published) })
	return append(dated, undated...)
}

// walkIndex fetches an index's recently modified children (at most
// maxSitemapChildren, newest first) with conditional GET and returns their
// entries and the validators to keep for them. done is false when a child
// could not be read.
func (w *Watcher) walkIndex(ctx context.Context, f *Feed, children []sitemapEntry, now time.Time) ([]sitemapEntry, map[string]string, bool, error) {
	type child struct {
		url string
		mod *time.Time
	}
	var recent []child
	anyDated := false
	for _, c := range children {
		loc := strings.TrimSpace(c.Loc)
		if loc == "" {
			continue
		}
		mod := parseW3C(c.LastMod)
		anyDated = anyDated || mod != nil
		if mod != nil && now.Sub(*mod) <= SitemapRecent {
			recent = append(recent, child{loc, mod})
		}
	}
	if !anyDated {
		for _, c := range children[max(len(children)-undatedChildren, 0):] {
			if loc := strings.TrimSpace(c.Loc); loc != "" {
				recent = append(recent, child{url: loc})
			}
		}
	}
	slices.SortStableFunc(recent, func(a, b child) int {
		if a.mod == nil || b.mod == nil {
			return 0
		}
		return b.mod.Compare(*a.mod)
	})
	if len(recent) > maxSitemapChildren {
		recent = recent[:maxSitemapChildren]
	}

	key := w.sitemapChildrenKey(f.ID)
	known, err := w.st.Redis.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, nil, false, fmt.Errorf("read sitemap validators of %s: %w", f.URL, err)
	}
	keep := map[string]string{}
	var out []sitemapEntry
	done := true
	for _, c := range recent {
		cond := fetch.Conditional{}
		if v, ok := known[c.url]; ok {
			cond.ETag, cond.LastModified, _ = strings.Cut(v, "\n")
		}
		if ok, err := w.allowed(ctx, c.url); err != nil {
			return nil, nil, false, err
		} else if !ok {
			continue
		}
		resp, err := w.fetcher.Get(ctx, c.url, cond)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, false, ctx.Err()
			}
			w.fetched("sitemap", "error", 0)
			w.log.Info("child sitemap failed", "feed", f.URL, "sitemap", c.url, "err", err)
			done = false
			continue
		}
		if resp.NotModified {
			w.fetched("sitemap", "not_modified", 0)
			keep[c.url] = known[c.url]
			continue
		}
		w.fetched("sitemap", "ok", len(resp.Body))
		doc, err := parseSitemap(resp.Body)
		if err != nil {
			w.log.Info("child sitemap unreadable", "feed", f.URL, "sitemap", c.url, "err", err)
			continue
		}
		out = append(out, doc.URLs...)
		keep[c.url] = resp.ETag + "\n" + resp.LastModified
	}
	return out, keep, done, nil
}
