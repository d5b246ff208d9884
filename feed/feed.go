// Package feed turns the bytes of an RSS (0.9x, 1.0, 2.0), Atom (a feed or a
// lone entry) or JSON Feed document into Herald's Article shape: absolute URLs, UTC dates, plain-text
// titles and summaries, newest first. It reads with gofeed and does the
// clean-up gofeed leaves to its callers (charsets gofeed cannot see, relative
// links, HTML in summaries, localized dates, ordering).
package feed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/herald-news/herald/article"
	"github.com/mmcdole/gofeed"
	"github.com/mmcdole/gofeed/atom"
	ext "github.com/mmcdole/gofeed/extensions"
	"github.com/mmcdole/gofeed/rss"
	"golang.org/x/net/html"
	htmlatom "golang.org/x/net/html/atom"
)

// Limits on what one feed may put in front of the rest of Herald.
const (
	MaxItems       = 500  // items kept, in document order, before sorting
	MaxSummaryRune = 1000 // a summary is a teaser; the full text goes to Text
)

// ErrMalformed is wrapped by every error Parse returns: the document is not
// a feed Herald can read. Callers treat it as bad input, not a failure.
var ErrMalformed = errors.New("malformed feed")

// Feed is one parsed feed document.
type Feed struct {
	Title     string
	Link      string        // the site the feed describes, absolute
	Hub       string        // WebSub hub, if the feed names one
	TTL       time.Duration // RSS <ttl>; zero when absent
	SkipHours []int         // RSS <skipHours>, hours 0–23 UTC
	SkipDays  []string      // RSS <skipDays>, English day names
	Items     []article.Article
}

// Parse reads body, fetched from feedURL (may be empty for a local file) and
// served as contentType (may be empty), into a Feed. Items come newest
// first; undated ones follow the dated ones in document order.
func Parse(body []byte, feedURL string, contentType string) (f *Feed, err error) {
	// gofeed has panicked on hostile input before; a feed must never take
	// the watcher down with it.
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("%w: parser panic: %v", ErrMalformed, r)
		}
	}()
	body = toUTF8(body, charsetOf(contentType))
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("%w: empty document", ErrMalformed)
	}
	p := gofeed.NewParser()
	p.KeepOriginalFeed = true
	gf, err := p.Parse(bytes.NewReader(body))
	if errors.Is(err, gofeed.ErrFeedTypeNotDetected) {
		if wrapped := entryDocument(body); wrapped != nil {
			body = wrapped
			gf, err = p.Parse(bytes.NewReader(body))
		}
	}
	if err != nil {
		if errors.Is(err, gofeed.ErrFeedTypeNotDetected) {
			return nil, fmt.Errorf("%w: not RSS, Atom or JSON Feed", ErrMalformed)
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return convert(gf, body, feedURL), nil
}

func charsetOf(contentType string) string {
	_, params, found := strings.Cut(contentType, ";")
	if !found {
		return ""
	}
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "charset") {
			return strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return ""
}

func convert(gf *gofeed.Feed, body []byte, feedURL string) *Feed {
	// The base for relative links: the feed's own URL when known, else the
	// self link it declares; the site link, resolved against that, comes
	// before it (gofeed has already applied xml:base inside Atom).
	base := absURL(nil, feedURL)
	if base == nil {
		base = absURL(nil, gf.FeedLink)
	}
	site := absURL(base, gf.Link)
	if site == nil {
		site = base
	}

	out := &Feed{Title: plainLine(gf.Title), Hub: hubOf(gf, body, base)}
	if site != nil {
		out.Link = site.String()
	}
	if rf, ok := gf.OriginalFeed().(*rss.Feed); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(rf.TTL)); err == nil && n > 0 {
			out.TTL = time.Duration(min(n, 7*24*60)) * time.Minute
		}
		for _, h := range rf.SkipHours {
			if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n >= 0 && n <= 24 {
				out.SkipHours = append(out.SkipHours, n%24) // some feeds count 1–24
			}
		}
		for _, d := range rf.SkipDays {
			if d = strings.TrimSpace(d); d != "" {
				out.SkipDays = append(out.SkipDays, d)
			}
		}
	}

	feedAuthor := ""
	if gf.FeedType == "atom" && len(gf.Authors) > 0 {
		// Atom entries inherit the feed's author (RFC 4287 4.2.1); an RSS
		// managingEditor is not the author of each item.
		feedAuthor = person(gf.Authors[0])
	}

	// RSS says whether a guid is a permalink; gofeed's Item does not.
	var notPermalink map[int]bool
	if rf, ok := gf.OriginalFeed().(*rss.Feed); ok && len(rf.Items) == len(gf.Items) {
		for i, ri := range rf.Items {
			if ri != nil && ri.GUID != nil && strings.EqualFold(strings.TrimSpace(ri.GUID.IsPermalink), "false") {
				if notPermalink == nil {
					notPermalink = make(map[int]bool)
				}
				notPermalink[i] = true
			}
		}
	}

	items := gf.Items
	if len(items) > MaxItems {
		items = items[:MaxItems]
	}
	out.Items = make([]article.Article, 0, len(items))
	for i, it := range items {
		if it == nil {
			continue
		}
		a, ok := convertItem(it, site, feedAuthor, !notPermalink[i])
		if !ok {
			continue
		}
		a.Source = out.Title
		a.FeedURL = feedURL
		out.Items = append(out.Items, a)
	}
	slices.SortStableFunc(out.Items, func(a, b article.Article) int {
		switch {
		case a.Published == nil && b.Published == nil:
			return 0
		case a.Published == nil:
			return 1
		case b.Published == nil:
			return -1
		}
		return b.Published.Compare(*a.Published)
	})
	return out
}

// convertItem maps one gofeed item; ok is false for an item with nothing a
// reader could be alerted to (no link, no title, no text).
func convertItem(it *gofeed.Item, site *url.URL, feedAuthor string, guidLink bool) (a article.Article, ok bool) {
	a.GUID = strings.TrimSpace(it.GUID)
	a.URL = itemURL(it, site, guidLink)
	a.Title = titleText(it.Title)

	a.Text = htmlToText(it.Content)
	desc := htmlToText(it.Description)
	if a.Text == "" && len([]rune(desc)) > MaxSummaryRune {
		// A full article in <description>: keep it as the text.
		a.Text = desc
	}
	if desc == "" {
		desc = a.Text
	}
	a.Summary = truncate(collapse(desc), MaxSummaryRune)

	switch {
	case len(it.Authors) > 0:
		a.Author = person(it.Authors[0])
	case it.Author != nil:
		a.Author = person(it.Author)
	}
	if a.Author == "" {
		a.Author = feedAuthor
	}

	a.Categories = []string{}
	for _, c := range it.Categories {
		if c = plainLine(c); c != "" && !slices.Contains(a.Categories, c) {
			a.Categories = append(a.Categories, c)
		}
	}

	a.Published = itemDate(it)

	switch {
	case a.URL != "":
		a.ID = article.IDFor(a.URL)
	case a.GUID != "":
		a.ID = article.IDFor(a.GUID)
	case a.Title != "" || a.Summary != "":
		// No identity given: the content is the identity.
		a.ID = article.IDFor("urn:herald:item:" + a.Title + "\x00" + a.Summary)
	default:
		return a, false
	}
	return a, a.URL != "" || a.Title != "" || a.Summary != ""
}

// itemURL is the item's link made absolute: its own link, another link it
// gives, or a guid that is an http(s) URL and not marked
// isPermaLink="false". Only http(s) links are kept.
func itemURL(it *gofeed.Item, site *url.URL, guidLink bool) string {
	candidates := append([]string{it.Link}, it.Links...)
	if guidLink {
		if g := strings.ToLower(strings.TrimSpace(it.GUID)); strings.HasPrefix(g, "http://") || strings.HasPrefix(g, "https://") {
			candidates = append(candidates, it.GUID)
		}
	}
	for _, c := range candidates {
		if u := absURL(site, c); u != nil {
			return u.String()
		}
	}
	return ""
}

// absURL resolves ref against base and returns it only if it is an absolute
// http(s) URL. An empty path becomes "/", the same resource spelled the way
// every other reader spells it.
func absURL(base *url.URL, ref string) *url.URL {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil
	}
	u, err := url.Parse(ref)
	if err != nil {
		return nil
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil
	}
	if u.Path == "" && u.Opaque == "" {
		u.Path = "/"
	}
	return u
}

// itemDate is the publication date, else the update date, in UTC; nil when
// the feed gave none Herald can read.
func itemDate(it *gofeed.Item) *time.Time {
	for _, t := range []*time.Time{it.PublishedParsed, it.UpdatedParsed} {
		if t != nil && !t.IsZero() {
			u := t.UTC()
			return &u
		}
	}
	for _, s := range []string{it.Published, it.Updated} {
		if t := parseDate(s); t != nil {
			return t
		}
	}
	if it.DublinCoreExt != nil {
		for _, s := range it.DublinCoreExt.Date {
			if t := parseDate(s); t != nil {
				return t
			}
		}
	}
	return nil
}

func person(p *gofeed.Person) string {
	if p == nil {
		return ""
	}
	if n := plainLine(p.Name); n != "" {
		return n
	}
	return plainLine(p.Email)
}

// titleText makes a title plain text. Markup is removed only when the title
// really contains HTML elements, so "vector<int> in C++" stays as written.
func titleText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return collapse(html.UnescapeString(s))
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			if htmlatom.Lookup(name) != 0 {
				return plainLine(s)
			}
		}
	}
}

// hubOf finds a WebSub hub: an Atom link rel="hub", the same as an
// atom:link extension inside RSS, or a JSON Feed "hubs" entry.
func hubOf(gf *gofeed.Feed, body []byte, base *url.URL) string {
	var hub string
	switch orig := gf.OriginalFeed().(type) {
	case *atom.Feed:
		for _, l := range orig.Links {
			if l != nil && strings.EqualFold(l.Rel, "hub") {
				hub = l.Href
				break
			}
		}
	case *rss.Feed:
		hub = hubFromExtensions(orig.Extensions)
	default:
		if gf.FeedType == "json" {
			var jf struct {
				Hubs []struct {
					Type string `json:"type"`
					URL  string `json:"url"`
				} `json:"hubs"`
			}
			if json.Unmarshal(body, &jf) == nil {
				for _, h := range jf.Hubs {
					if strings.EqualFold(h.Type, "websub") || strings.EqualFold(h.Type, "pubsubhubbub") || h.Type == "" {
						hub = h.URL
						break
					}
				}
			}
		}
	}
	if u := absURL(base, hub); u != nil {
		return u.String()
	}
	return ""
}

func hubFromExtensions(exts ext.Extensions) string {
	for _, l := range exts["atom"]["link"] {
		if strings.EqualFold(l.Attrs["rel"], "hub") {
			return l.Attrs["href"]
		}
	}
	return ""
}
