package watcher

import (
	"net/url"
	"path"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// maxSectionLinks bounds the links taken from one section page.
const maxSectionLinks = maxItems

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
