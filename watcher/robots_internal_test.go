package watcher

import "testing"

func TestRobotsRules(t *testing.T) {
	const body = `# comments and odd spacing are fine
User-agent: Googlebot
Disallow: /

User-Agent: *
User-agent: other
Disallow: /private/
Allow: /private/open-*.html$
Disallow: /*?session=
Disallow: /drafts$
Disallow:

Sitemap: https://news.example/news-sitemap.xml
`
	r := parseRobots(body, RobotsAgent)
	for path, want := range map[string]bool{
		"/":                          true,
		"/news/a-story":              true,
		"/private/memo":              false,
		"/private/open-letter.html":  true,
		"/private/open-letter.htmlx": false,
		"/news/a?session=1":          false,
		"/drafts":                    false,
		"/drafts/one":                true,
		"/robots.txt":                true,
	} {
		if got := r.allows(path); got != want {
			t.Errorf("allows(%q) = %v, want %v", path, got, want)
		}
	}
	if len(r.sitemaps) != 1 || r.sitemaps[0] != "https://news.example/news-sitemap.xml" {
		t.Errorf("sitemaps = %q", r.sitemaps)
	}

	// A group naming Herald replaces the * group entirely.
	own := parseRobots("User-agent: *\nDisallow: /\n\nUser-agent: Herald/1.0\nDisallow: /tag/\n", RobotsAgent)
	if !own.allows("/news/x") || own.allows("/tag/x") {
		t.Errorf("Herald's own group not applied: %+v", own.rules)
	}
	// Longest match wins; on a tie, allow.
	tie := parseRobots("User-agent: *\nDisallow: /a\nAllow: /a\nDisallow: /ab/c\nAllow: /ab\n", RobotsAgent)
	if !tie.allows("/a") || !tie.allows("/ab/d") || tie.allows("/ab/c/d") {
		t.Errorf("precedence wrong: %+v", tie.rules)
	}
	if disallowAll.allows("/anything") {
		t.Error("disallowAll allows")
	}
	if !parseRobots("", RobotsAgent).allows("/x") {
		t.Error("an empty robots.txt disallows")
	}
}
