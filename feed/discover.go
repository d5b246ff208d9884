package feed

import (
	"bytes"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Alternate is a feed an HTML page names in its head with
// <link rel="alternate" type="...">.
type Alternate struct {
	URL   string // absolute
	Type  string // rss, atom or json
	Title string
}

// alternateTypes are the media types of the feeds Parse reads.
var alternateTypes = map[string]string{
	"application/rss+xml":   "rss",
	"application/rdf+xml":   "rss",
	"application/atom+xml":  "atom",
	"application/feed+json": "json",
	"application/json":      "json",
}

// Alternates returns the feeds a page links in its head (and, as careless
// templates put them there, its body), in document order, without
// repeats. pageURL resolves relative links, after any <base href>.
func Alternates(page []byte, pageURL string) []Alternate {
	base, err := url.Parse(pageURL)
	if err != nil {
		return nil
	}
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return nil
	}
	var out []Alternate
	seen := map[string]bool{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Base:
				if b, err := url.Parse(attrOf(n, "href")); err == nil && attrOf(n, "href") != "" {
					base = base.ResolveReference(b)
				}
			case atom.Link:
				rels := strings.Fields(strings.ToLower(attrOf(n, "rel")))
				mt := strings.ToLower(strings.TrimSpace(strings.Split(attrOf(n, "type"), ";")[0]))
				kind, ok := alternateTypes[mt]
				if ok && slices.Contains(rels, "alternate") {
					if u := absURL(base, attrOf(n, "href")); u != nil && !seen[u.String()] {
						seen[u.String()] = true
						out = append(out, Alternate{URL: u.String(), Type: kind, Title: plainLine(attrOf(n, "title"))})
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

func attrOf(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}
