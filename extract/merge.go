package extract

import (
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
func mergeMetadata(res *Result, p *pageMeta, tr *trafResult, ra *raResult) {
	res.Canonical = p.canonical
	if ra != nil {
		res.Title = collapse(ra.art.Title())
		res.Byline = collapse(ra.art.Byline())
		res.SiteName = collapse(ra.art.SiteName())
		res.Lang = strings.TrimSpace(ra.art.Language())
		if t, err := ra.art.PublishedTime(); err == nil {
			if d := parseDate(t.Format("2006-01-02T15:04:05Z07:00")); d != nil {
				res.Published = d
			}
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
		if res.SiteName == "" {
			res.SiteName = collapse(m.Sitename)
		}
		if res.Lang == "" {
			res.Lang = m.Language
		}
		if res.Published == nil && !m.Date.IsZero() {
			d := m.Date.UTC()
			res.Published = &d
		}
	}
	if res.Title == "" {
		res.Title = firstNonEmpty(p.ld.headline, p.meta["og:title"], p.title)
	}
	if res.Lang == "" {
		res.Lang = p.lang
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
