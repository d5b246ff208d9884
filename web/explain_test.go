package web_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/web"
)

// TestSignupExplains: the sign-up page says what a reader gets, lists the
// sources watched (escaped), shows a digest made of the latest articles,
// explains the query syntax and names the operator.
func TestSignupExplains(t *testing.T) {
	s := newSite(t)
	s.web.Operator = "Example <Newsroom>"
	s.publish(t, "museum", "Minsk museum shows Belarus maps", "A museum in Minsk opened an exhibition of old maps of Belarus.")
	s.publishWith(t, "evil", `<script>alert(1)</script> headline`, "Text with <img src=x>.", func(a *article.Article) { a.Source = "Evil <b>Wire</b>" })

	// Without the watcher's list, the sources of the week's articles.
	_, page := s.get(t, s.base+"/")
	contains(t, "sign-up page", page,
		"A digest once a day or once a week", // what a reader gets
		"2 sources are watched", "<li>Example Wire</li>", "<li>Evil &lt;b&gt;Wire&lt;/b&gt;</li>",
		"What a digest looks like", `<a href="https://news.example/museum" rel="noopener noreferrer">Minsk museum shows Belarus maps</a>`,
		"&lt;script&gt;alert(1)&lt;/script&gt; headline", "Text with &lt;img src=x&gt;.",
		"How to write a topic", `<code>"military cooperation"</code>`, "<code>site:bbc.co.uk</code>",
		"run by Example &lt;Newsroom&gt;", "Privacy: your address and topics are kept only")
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x>") {
		t.Errorf("an article's markup reached the page:\n%s", page)
	}

	// With it, the watcher's feeds, by name, with their sites.
	s2 := newSite(t)
	s2.web.Sources = func(context.Context) ([]web.Source, error) {
		return []web.Source{{Name: "Zeta News", URL: "https://zeta.example/"}, {Name: "alpha wire"}, {Name: "Zeta news"},
			{Name: "Bad link", URL: "javascript:alert(1)"}}, nil
	}
	_, page = s2.get(t, s2.base+"/")
	contains(t, "sign-up page with the watcher's feeds", page, "3 sources are watched",
		`<li>alpha wire</li><li>Bad link</li><li><a href="https://zeta.example/" rel="noopener noreferrer">Zeta News</a></li>`,
		"No articles have been found yet")
	if strings.Contains(page, "javascript:") {
		t.Errorf("a source's link is not a web address:\n%s", page)
	}

	// A watcher that fails leaves the page up, without the list.
	s3 := newSite(t)
	s3.web.Sources = func(context.Context) ([]web.Source, error) { return nil, errors.New("redis down") }
	if code, page := s3.get(t, s3.base+"/"); code != 200 || !strings.Contains(page, "No sources are watched yet") {
		t.Errorf("sign-up page with a failing source list = %d:\n%s", code, page)
	}
}
