package extract

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/araddon/dateparse"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	nurl "net/url"
)

// pageMeta is what the page says about itself in its head: the canonical
// link, the declared language, <meta> tags and schema.org JSON-LD.
type pageMeta struct {
	canonical string
	lang      string
	title     string            // <title>
	meta      map[string]string // lower-cased name/property -> first content
	ld        ldArticle
}

// ldArticle is the part of a schema.org Article (or NewsArticle, …) that
// we read.
type ldArticle struct {
	headline      string
	author        string
	datePublished string
	publisher     string
}

func readPage(doc *html.Node, base *nurl.URL) *pageMeta {
	p := &pageMeta{meta: map[string]string{}}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Html:
				p.lang = strings.TrimSpace(attr(n, "lang"))
			case atom.Title:
				if p.title == "" {
					p.title = collapse(textOf(n))
				}
			case atom.Link:
				if p.canonical == "" && hasToken(attr(n, "rel"), "canonical") {
					p.canonical = absolute(base, attr(n, "href"))
				}
			case atom.Meta:
				key := strings.ToLower(strings.TrimSpace(attr(n, "property")))
				if key == "" {
					key = strings.ToLower(strings.TrimSpace(attr(n, "name")))
				}
				if key == "" {
					key = strings.ToLower(strings.TrimSpace(attr(n, "itemprop")))
				}
				if v := collapse(attr(n, "content")); key != "" && v != "" {
					if _, seen := p.meta[key]; !seen {
						p.meta[key] = v
					}
				}
			case atom.Script:
				if strings.EqualFold(strings.TrimSpace(attr(n, "type")), "application/ld+json") {
					p.ld.merge(textOf(n))
				}
				return
			case atom.Style:
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return p
}

// merge reads one JSON-LD block, keeping the first article-like object's
// fields that are still empty.
func (ld *ldArticle) merge(src string) {
	var v any
	if json.Unmarshal([]byte(src), &v) != nil {
		return
	}
	var visit func(v any, depth int)
	visit = func(v any, depth int) {
		if depth > 8 {
			return
		}
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				visit(e, depth+1)
			}
		case map[string]any:
			if g, ok := x["@graph"]; ok {
				visit(g, depth+1)
			}
			if !isArticleType(x["@type"]) {
				return
			}
			if ld.headline == "" {
				ld.headline = collapse(str(x["headline"]))
			}
			if ld.author == "" {
				ld.author = names(x["author"])
			}
			if ld.datePublished == "" {
				ld.datePublished = str(x["datePublished"])
			}
			if ld.publisher == "" {
				ld.publisher = names(x["publisher"])
			}
		}
	}
	visit(v, 0)
}

func isArticleType(t any) bool {
	switch x := t.(type) {
	case string:
		return strings.HasSuffix(x, "Article") || x == "BlogPosting" || x == "Report" || x == "LiveBlogPosting"
	case []any:
		for _, e := range x {
			if isArticleType(e) {
				return true
			}
		}
	}
	return false
}

// names reads a schema.org Person/Organization, a list of them, or a string.
func names(v any) string {
	switch x := v.(type) {
	case string:
		return collapse(x)
	case map[string]any:
		return collapse(str(x["name"]))
	case []any:
		var out []string
		for _, e := range x {
			if n := names(e); n != "" {
				out = append(out, n)
			}
		}
		return strings.Join(out, ", ")
	}
	return ""
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		if len(x) > 0 {
			return str(x[0])
		}
	}
	return ""
}

// parseDate reads the date formats found in meta tags and JSON-LD. A time
// without a zone is taken as UTC.
func parseDate(s string) *time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	t, err := dateparse.ParseIn(s, time.UTC)
	if err != nil || !plausibleDate(t) {
		return nil
	}
	t = t.UTC()
	return &t
}

// plausibleDate rejects zero and absurd dates (a parsed "0001" or a year
// typed with too many digits) rather than print them.
func plausibleDate(t time.Time) bool {
	return !t.IsZero() && t.Year() >= 1990 && t.Year() <= 2200
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}

func hasToken(list, tok string) bool {
	for _, f := range strings.Fields(list) {
		if strings.EqualFold(f, tok) {
			return true
		}
	}
	return false
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func collapse(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// absolute resolves href against base; without a base only an absolute
// http(s) href is kept.
func absolute(base *nurl.URL, href string) string {
	href = strings.TrimSpace(href)
	if href == "" {
		return ""
	}
	u, err := nurl.Parse(href)
	if err != nil {
		return ""
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.String()
}

// baseHref returns the document's <base href> resolved against base.
func baseHref(doc *html.Node, base *nurl.URL) *nurl.URL {
	var found *nurl.URL
	var walk func(*html.Node) bool
	walk = func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.DataAtom == atom.Base {
			if h := absolute(base, attr(n, "href")); h != "" {
				found, _ = nurl.Parse(h)
				return true
			}
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
	return found
}
