package extract

import (
	nurl "net/url"
	"strings"
)

// chooseText picks the body text. See the rule's comment in rule.go.
func chooseText(tr *trafResult, ra *raResult) string {
	var t, r string
	if tr != nil {
		t = tr.text
	}
	if ra != nil {
		r = ra.text
	}
	return choose(t, r)
}

// mergeMetadata fills res's metadata field by field. Readability reads the
// page head the way browsers' reader views do (and is what the expected
// metadata in our test corpus comes from); go-trafilatura also reads the
// body (bylines, dates in text) and fills what readability leaves empty.
func mergeMetadata(res *Result, base *nurl.URL, p *pageMeta, tr *trafResult, ra *raResult) {
	res.Canonical = p.canonical
	if ra != nil {
		res.Title = collapse(ra.art.Title())
		res.Byline = collapse(ra.art.Byline())
		res.SiteName = collapse(ra.art.SiteName())
		res.Lang = strings.TrimSpace(ra.art.Language())
		if t, err := ra.art.PublishedTime(); err == nil && plausibleDate(t) {
			d := t.UTC()
			res.Published = &d
		}
	}
	if tr != nil {
		m := tr.meta
		if res.Title == "" {
			res.Title = collapse(m.Title)
		}
		if res.Byline == "" {
			res.Byline = collapse(m.Author)
		}
		// trafilatura falls back to the URL's host name, which says
		// nothing the URL does not; only a real name is kept.
		if res.SiteName == "" && !isHostName(m.Sitename, base) {
			res.SiteName = collapse(m.Sitename)
		}
		if res.Lang == "" {
			res.Lang = m.Language
		}
		if res.Published == nil && plausibleDate(m.Date) {
			d := m.Date.UTC()
			res.Published = &d
		}
	}
	// Last, our own reading of the head, for what both libraries missed.
	if res.Title == "" {
		res.Title = firstNonEmpty(p.ld.headline, p.meta["og:title"], p.title)
	}
	if res.Byline == "" {
		res.Byline = firstNonEmpty(p.ld.author, p.meta["author"], p.meta["article:author"], p.meta["parsely-author"], p.meta["dc.creator"])
		if strings.HasPrefix(res.Byline, "http") { // article:author is often a profile URL
			res.Byline = ""
		}
	}
	if res.SiteName == "" {
		res.SiteName = firstNonEmpty(p.meta["og:site_name"], p.meta["application-name"], p.ld.publisher)
	}
	if res.Published == nil {
		// Not itemprop=datePublished: a page often has several (a video's,
		// a related story's), and the first is not reliably the article's.
		for _, v := range []string{p.ld.datePublished, p.meta["article:published_time"],
			p.meta["parsely-pub-date"], p.meta["sailthru.date"], p.meta["dc.date.issued"], p.meta["dc.date"], p.meta["pubdate"]} {
			if d := parseDate(v); d != nil {
				res.Published = d
				break
			}
		}
	}
	var trTitle string
	if tr != nil {
		trTitle = tr.meta.Title
	}
	res.Title = stripSiteSuffix(res.Title, p.ld.headline, p.meta["og:title"], trTitle)
	if res.Lang == "" {
		res.Lang = p.lang
	}
	res.Byline = trimByline(res.Byline)
}

// trimByline drops the label in front of a byline ("By Jane Doe"), which
// a reader shows on its own.
func trimByline(s string) string {
	for _, p := range []string{"by ", "by: ", "par ", "von ", "por "} {
		if len(s) > len(p) && strings.EqualFold(s[:len(p)], p) {
			return strings.TrimSpace(s[len(p):])
		}
	}
	return s
}

func isHostName(name string, base *nurl.URL) bool {
	if name == "" || base == nil {
		return name == ""
	}
	h := strings.TrimPrefix(strings.ToLower(base.Hostname()), "www.")
	n := strings.TrimPrefix(strings.ToLower(name), "www.")
	return n == h
}

// stripSiteSuffix drops a site name that readability left on a short
// title ("Storm hits the coast | Example News": it keeps the whole <title>
// when the part before the separator has four words or fewer). The cut is
// made only where another source (JSON-LD headline, og:title,
// trafilatura's title) names exactly the part before the separator.
func stripSiteSuffix(title string, others ...string) string {
	for _, o := range others {
		o = collapse(o)
		if o == "" || len(o) >= len(title) || !strings.HasPrefix(title, o) {
			continue
		}
		rest := strings.TrimSpace(title[len(o):])
		for _, sep := range []string{"|", "-", "–", "—", "»", "·", ":", "::", "/"} {
			if strings.HasPrefix(rest, sep) {
				return o
			}
		}
	}
	return title
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
