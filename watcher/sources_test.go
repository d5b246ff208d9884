package watcher_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/watcher"
)

// newsSite is a site over real HTTP whose paths the test sets one by one
// (a homepage, robots.txt, sitemaps, section and article pages). It
// records every request, fails the test on any request under a path its
// robots.txt disallows, and measures how many article pages were fetched
// at once.
type newsSite struct {
	*httptest.Server
	t            *testing.T
	mu           sync.Mutex
	paths        map[string]sitePage
	requests     []string // path and the If-None-Match sent, in order
	agents       map[string]bool
	disallowed   string // a path prefix robots.txt disallows; requests under it fail the test
	robotsStatus int    // when set, /robots.txt answers this status
	inFlight     atomic.Int32
	maxPages     atomic.Int32
}

type sitePage struct {
	contentType, body string
}

func newNewsSite(t *testing.T) *newsSite {
	s := &newsSite{t: t, paths: map[string]sitePage{}, agents: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *newsSite) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.URL.Path+" "+r.Header.Get("If-None-Match"))
	s.agents[r.UserAgent()] = true
	page, ok := s.paths[r.URL.Path]
	bad := s.disallowed != "" && strings.HasPrefix(r.URL.Path, s.disallowed)
	robotsStatus := s.robotsStatus
	s.mu.Unlock()
	if r.URL.Path == "/robots.txt" && robotsStatus != 0 {
		w.WriteHeader(robotsStatus)
		return
	}
	if bad {
		s.t.Errorf("fetched %s, which robots.txt disallows", r.URL.Path)
	}
	if strings.HasPrefix(page.contentType, "text/html") && r.URL.Path != "/" {
		n := s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		for {
			m := s.maxPages.Load()
			if n <= m || s.maxPages.CompareAndSwap(m, n) {
				break
			}
		}
		// Keep the request open a moment so that concurrent fetches overlap
		// and the limit is exercised; nothing is asserted about time.
		time.Sleep(20 * time.Millisecond)
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	tag := fmt.Sprintf(`"%x"`, len(page.body)*7+strings.Count(page.body, "<"))
	w.Header().Set("ETag", tag)
	if r.Header.Get("If-None-Match") == tag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", page.contentType)
	fmt.Fprint(w, page.body)
}

func (s *newsSite) set(path, contentType, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paths[path] = sitePage{contentType, body}
}

// fetches counts requests for a path; with prefix, for every path under it.
func (s *newsSite) fetches(path string, prefix bool) (n, notModified int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.requests {
		p, inm, _ := strings.Cut(r, " ")
		if p == path || (prefix && strings.HasPrefix(p, path)) {
			n++
			if inm != "" {
				notModified++
			}
		}
	}
	return n, notModified
}

const htmlType = "text/html; charset=utf-8"

// chrome is the navigation noise every page of the site carries: links
// that look like articles but are not the content.
func chrome(base string) (head, foot string) {
	head = `<header class="site-header"><a href="/">The Harbour Gazette</a>
<nav class="main-nav"><a href="/world/">World</a> <a href="/business/">Business</a>
<a href="/news/2026/nav-promoted-story-in-the-menu">Promoted in the menu</a></nav></header>
<div class="breadcrumbs"><a href="/">Home</a> › <a href="/world/">World</a></div>`
	foot = `<footer class="site-footer"><a href="/about">About</a> <a href="/news/2026/footer-linked-story-everywhere">Footer story</a>
<a href="https://elsewhere.example/2026/other-site-article-link">Partner</a></footer>`
	return head, foot
}

// articlePage is a news article page: its title, byline, date and text,
// inside the site's navigation and footer.
func articlePage(base, title, byline string, paragraphs ...string) string {
	head, foot := chrome(base)
	var b strings.Builder
	fmt.Fprintf(&b, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>%s | The Harbour Gazette</title>
<meta property="og:title" content="%s"><meta name="author" content="%s">
<meta property="article:published_time" content="2026-03-01T09:00:00Z"></head><body>%s
<main><article><h1>%s</h1><p class="byline">By %s</p>`, title, title, byline, head, title, byline)
	for _, p := range paragraphs {
		fmt.Fprintf(&b, "<p>%s</p>\n", p)
	}
	fmt.Fprintf(&b, `<ul class="tags"><li><a href="/tag/harbour">harbour</a></li></ul></article>
<aside class="related"><a href="/news/2026/related-story-in-the-sidebar">Related</a></aside></main>%s</body></html>`, foot)
	return b.String()
}

// story writes text of about 200 words that no other story shares, so
// articles are not taken for near-duplicates of each other.
func story(topic string) []string {
	words := strings.Fields("harbour council vote budget ferry storm school museum river bridge " +
		"market festival rail station hospital clinic library court police fire coast island")
	var ps []string
	for p := 0; p < 4; p++ {
		var sb strings.Builder
		fmt.Fprintf(&sb, "The %s report, part %d, said", topic, p+1)
		for i := 0; i < 48; i++ {
			w := words[(len(topic)*7+p*13+i*(len(topic)%5+3))%len(words)]
			fmt.Fprintf(&sb, " %s%d", w, (i*len(topic)+p)%97)
		}
		sb.WriteString(".")
		ps = append(ps, sb.String())
	}
	return ps
}

func newsSitemap(base string, entries ...[3]string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">`)
	for _, e := range entries { // path, title, date
		fmt.Fprintf(&b, `<url><loc>%s%s</loc><news:news><news:publication><news:name>The Harbour Gazette</news:name><news:language>en</news:language></news:publication>
<news:publication_date>%s</news:publication_date><news:title>%s</news:title></news:news></url>`, base, e[0], e[2], e[1])
	}
	b.WriteString("</urlset>")
	return b.String()
}

func recent(ago time.Duration) string { return time.Now().Add(-ago).UTC().Format(time.RFC3339) }

func pollOnce(t *testing.T, w *watcher.Watcher, f *watcher.Feed) {
	t.Helper()
	if err := w.Poll(context.Background(), f.ID); err != nil {
		t.Fatalf("poll %s: %v", f.URL, err)
	}
}

func TestDiscoverFeedOnHomepage(t *testing.T) {
	st := storetest.New(t)
	w := newWatcher(t, st, time.Minute)
	s := newNewsSite(t)
	s.set("/", htmlType, `<html><head><title>Gazette</title>
<link rel="alternate" type="application/rss+xml" title="Comments" href="/comments/feed/">
<link rel="alternate" type="application/atom+xml" title="World" href="/world/feed/atom.xml">
<link rel="alternate" type="application/rss+xml" title="The Harbour Gazette" href="/feed/">
</head><body>Hello</body></html>`)
	rss := `<?xml version="1.0"?><rss version="2.0"><channel><title>Gazette</title><link>` + s.URL + `/</link></channel></rss>`
	s.set("/feed/", "application/rss+xml", rss)
	s.set("/comments/feed/", "application/rss+xml", rss)
	s.set("/world/feed/atom.xml", "application/atom+xml", `<feed xmlns="http://www.w3.org/2005/Atom"><title>World</title></feed>`)

	f, err := w.Add(context.Background(), s.URL+"/", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if f.URL != s.URL+"/feed/" || f.Kind != watcher.KindFeed || f.From != s.URL+"/" {
		t.Fatalf("added %s (%s, from %q), want the site-wide feed %s/feed/", f.URL, f.Kind, f.From, s.URL)
	}
	// Adding the feed's own URL finds the same feed and fetches nothing.
	before := len(s.requests)
	g, err := w.Add(context.Background(), s.URL+"/feed/", 0, 0)
	if err != nil || g.ID != f.ID || g.Kind != watcher.KindFeed {
		t.Fatalf("adding the feed URL again: %+v, %v", g, err)
	}
	if len(s.requests) != before {
		t.Errorf("adding a watched feed fetched %v", s.requests[before:])
	}
}

func TestDiscoverUsualPath(t *testing.T) {
	st := storetest.New(t)
	w := newWatcher(t, st, time.Minute)
	s := newNewsSite(t)
	s.set("/section/local", htmlType, `<html><head><title>Local</title></head><body>No feed linked.</body></html>`)
	s.set("/rss.xml", "application/xml", `<?xml version="1.0"?><rss version="2.0"><channel><title>Gazette</title></channel></rss>`)
	f, err := w.Add(context.Background(), s.URL+"/section/local", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if f.URL != s.URL+"/rss.xml" || f.Kind != watcher.KindFeed {
		t.Fatalf("added %s (%s), want %s/rss.xml", f.URL, f.Kind, s.URL)
	}
	if n, _ := s.fetches("/feed", false); n != 1 {
		t.Errorf("/feed tried %d times, want once before /rss", n)
	}
}

func TestDiscoverSitemapAndPage(t *testing.T) {
	st := storetest.New(t)
	w := newWatcher(t, st, time.Minute)
	s := newNewsSite(t)
	s.set("/", htmlType, `<html><head><title>No feeds here</title></head><body><main><a href="/news/2026/first-story-of-the-day">First</a></main></body></html>`)
	s.set("/robots.txt", "text/plain", "User-agent: *\nDisallow: /private/\n\nSitemap: "+s.URL+"/sitemap.xml\nSitemap: "+s.URL+"/news-sitemap.xml\n")
	s.set("/news-sitemap.xml", "application/xml", newsSitemap(s.URL))
	f, err := w.Add(context.Background(), s.URL+"/", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if f.URL != s.URL+"/news-sitemap.xml" || f.Kind != watcher.KindSitemap {
		t.Fatalf("added %s (%s), want the news sitemap named in robots.txt", f.URL, f.Kind)
	}

	p := newNewsSite(t)
	p.set("/world/", htmlType, `<html><head><title>World</title></head><body><main><a href="/news/2026/first-story-of-the-day">First</a></main></body></html>`)
	g, err := w.Add(context.Background(), p.URL+"/world/", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if g.URL != p.URL+"/world/" || g.Kind != watcher.KindPage {
		t.Fatalf("added %s (%s), want the section page itself", g.URL, g.Kind)
	}
	list, err := w.List(context.Background())
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %v, %v", list, err)
	}
	kinds := map[string]string{}
	for _, f := range list {
		kinds[f.URL] = f.Kind
	}
	if kinds[s.URL+"/news-sitemap.xml"] != "sitemap" || kinds[p.URL+"/world/"] != "page" {
		t.Errorf("kinds in feeds list: %v", kinds)
	}
}

func TestNewsSitemapPublishesNewPages(t *testing.T) {
	st := storetest.New(t)
	w := newWatcher(t, st, time.Minute)
	s := newNewsSite(t)
	s.disallowed = "/private/"
	s.set("/robots.txt", "text/plain", "User-agent: *\nDisallow: /private/\n")
	old := [][3]string{{"/news/2026/ferry-timetable-changes-for-spring", "Ferry timetable changes", recent(3 * time.Hour)}}
	s.set("/news-sitemap.xml", "application/xml", newsSitemap(s.URL, old...))
	s.set(old[0][0], htmlType, articlePage(s.URL, "Ferry timetable changes for spring", "Ana Lind", story("ferry")...))

	f, err := w.Add(context.Background(), s.URL+"/news-sitemap.xml", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	pollOnce(t, w, f) // marks what is there as seen
	if got := streamed(t, st); len(got) != 0 {
		t.Fatalf("first fetch published %d articles, want 0", len(got))
	}
	if n, _ := s.fetches(old[0][0], false); n != 0 {
		t.Errorf("an entry already there on the first fetch had its page fetched %d times", n)
	}

	entries := append([][3]string{
		{"/news/2026/council-approves-harbour-bridge-budget", "Council backs bridge", recent(10 * time.Minute)},
		{"/private/2026/embargoed-story-not-for-robots", "Embargoed", recent(5 * time.Minute)},
		{"/news/2026/two-year-old-story-relisted", "Old story", "2024-01-05"},
		{"/news/2026/listed-but-never-put-online", "Missing", recent(20 * time.Minute)}, // 404
	}, old...)
	s.set("/news-sitemap.xml", "application/xml", newsSitemap(s.URL, entries...))
	s.set(entries[0][0], htmlType, articlePage(s.URL, "Council approves the harbour bridge budget", "Jonas Berg", story("bridge budget")...))
	s.set(entries[1][0], htmlType, articlePage(s.URL, "Embargoed", "Nobody", story("embargo")...))
	s.set(entries[2][0], htmlType, articlePage(s.URL, "Old story", "Nobody", story("old")...))
	pollOnce(t, w, f)

	got := streamed(t, st)
	if len(got) != 1 {
		t.Fatalf("published %d articles, want 1 (the new, allowed, recent one)", len(got))
	}
	a := got[0]
	if a.Title != "Council approves the harbour bridge budget" {
		t.Errorf("title %q, want the page's own", a.Title)
	}
	if a.URL != s.URL+entries[0][0] || a.Author != "Jonas Berg" || a.FeedURL != f.URL {
		t.Errorf("article %s by %q from %s", a.URL, a.Author, a.FeedURL)
	}
	if !strings.Contains(a.Text, "bridge budget report, part 1") || a.Summary == "" {
		t.Errorf("text lacks the article: %.200q", a.Text)
	}
	for _, noise := range []string{"Promoted in the menu", "Footer story", "Related", "harbour\n", "Home ›"} {
		if strings.Contains(a.Text, noise) {
			t.Errorf("text carries page chrome %q", noise)
		}
	}
	if n, _ := s.fetches("/news/2026/two-year-old-story-relisted", false); n != 0 {
		t.Errorf("an entry dated two years ago was fetched")
	}
	// Nothing new: the sitemap answers 304 and no page is fetched again.
	pollOnce(t, w, f)
	if n, nm := s.fetches("/news-sitemap.xml", false); n != 4 || nm != 2 {
		t.Errorf("sitemap fetched %d times (%d conditional), want 4 (2): discovery, then three polls", n, nm)
	}
	if n, _ := s.fetches(entries[0][0], false); n != 1 {
		t.Errorf("the new page was fetched %d times, want 1", n)
	}
	if n, _ := s.fetches(entries[3][0], false); n != 1 {
		t.Errorf("a listed page that answers 404 was fetched %d times, want 1 (then marked seen)", n)
	}
	if n, _ := s.fetches("/robots.txt", false); n != 1 {
		t.Errorf("robots.txt fetched %d times in three polls, want 1 (cached)", n)
	}
	for ua := range s.agents {
		if !strings.Contains(ua, "Herald") {
			t.Errorf("User-Agent %q does not name Herald", ua)
		}
	}
}

func TestSitemapIndexFetchesOnlyRecentChildren(t *testing.T) {
	st := storetest.New(t)
	w := newWatcher(t, st, time.Minute)
	s := newNewsSite(t)
	// 50 old child sitemaps of 100 entries each: 5,000 old articles.
	var index strings.Builder
	index.WriteString(`<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
	for i := 0; i < 50; i++ {
		var entries [][3]string
		for j := 0; j < 100; j++ {
			entries = append(entries, [3]string{fmt.Sprintf("/news/2024/%02d/old-story-number-%d", i%12+1, i*100+j), "Old", "2024-06-01T10:00:00Z"})
		}
		path := fmt.Sprintf("/sitemaps/2024-%02d.xml", i)
		s.set(path, "application/xml", newsSitemap(s.URL, entries...))
		fmt.Fprintf(&index, "<sitemap><loc>%s%s</loc><lastmod>2024-07-01</lastmod></sitemap>", s.URL, path)
	}
	fmt.Fprintf(&index, "<sitemap><loc>%s/sitemaps/today.xml</loc><lastmod>%s</lastmod></sitemap></sitemapindex>", s.URL, recent(time.Hour))
	s.set("/sitemap-index.xml", "application/xml", index.String())
	s.set("/sitemaps/today.xml", "application/xml", newsSitemap(s.URL))

	f, err := w.Add(context.Background(), s.URL+"/sitemap-index.xml", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	pollOnce(t, w, f)
	var fresh [][3]string
	titles := map[string]bool{}
	for i, topic := range []string{"harbour dredging", "school opening", "museum reopening"} {
		path := fmt.Sprintf("/news/2026/new-story-about-%s", strings.ReplaceAll(topic, " ", "-"))
		title := fmt.Sprintf("Today: the %s, story %d", topic, i+1)
		fresh = append(fresh, [3]string{path, title, recent(time.Duration(10+i) * time.Minute)})
		s.set(path, htmlType, articlePage(s.URL, title, "Desk", story(topic)...))
		titles[title] = true
	}
	s.set("/sitemaps/today.xml", "application/xml", newsSitemap(s.URL, fresh...))
	pollOnce(t, w, f)

	got := streamed(t, st)
	if len(got) != 3 {
		t.Fatalf("published %d articles, want the 3 new ones", len(got))
	}
	for _, a := range got {
		if !titles[a.Title] {
			t.Errorf("published %q", a.Title)
		}
	}
	if n, _ := s.fetches("/sitemaps/2024-", true); n != 0 {
		t.Errorf("old child sitemaps fetched %d times, want none", n)
	}
	if n, _ := s.fetches("/news/2024/", true); n != 0 {
		t.Errorf("old article pages fetched %d times, want none", n)
	}
	// The next poll asks with validators: the index and its recent child
	// answer 304.
	pollOnce(t, w, f)
	if n, nm := s.fetches("/sitemaps/today.xml", false); n != 3 || nm < 1 {
		t.Errorf("recent child fetched %d times (%d conditional), want 3 with a conditional last", n, nm)
	}
	if n, nm := s.fetches("/sitemap-index.xml", false); n != 4 || nm != 2 {
		t.Errorf("index fetched %d times (%d conditional), want 4 (2): discovery, then three polls", n, nm)
	}
}

// sectionPage is a list of article links amid navigation, tag and
// pagination links.
func sectionPage(links ...[2]string) string {
	head, foot := chrome("")
	var b strings.Builder
	fmt.Fprintf(&b, `<!doctype html><html><head><title>World | The Harbour Gazette</title></head><body>%s
<div class="trending"><a href="/news/2026/trending-story-in-the-strip">Trending</a></div>
<main id="content"><h1>World</h1>`, head)
	for _, l := range links {
		fmt.Fprintf(&b, `<article class="teaser"><h2><a href="%s">%s</a></h2><p>A line of teaser text.</p>
<footer><a href="/tag/world">world</a> <a href="/author/desk">Desk</a></footer></article>`, l[0], l[1])
	}
	fmt.Fprintf(&b, `<nav class="pagination"><a href="/world/?page=2">Next</a> <a href="/world/page/3">3</a></nav>
<ul class="tags"><li><a href="/tag/europe">Europe</a></li><li><a href="/topics/elections-in-the-region-2026">Elections</a></li></ul></main>%s</body></html>`, foot)
	return b.String()
}

func TestSectionPagePublishesNewLinks(t *testing.T) {
	st := storetest.New(t)
	w := newWatcher(t, st, time.Minute)
	s := newNewsSite(t)
	s.disallowed = "/private/"
	s.set("/robots.txt", "text/plain", "User-agent: herald\nDisallow: /private/\n\nUser-agent: *\nDisallow: /\n")
	first := [2]string{"/news/2026/storm-closes-the-coast-road", "Storm closes the coast road"}
	s.set("/world/", htmlType, sectionPage(first))
	f, err := w.Add(context.Background(), s.URL+"/world/", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if f.Kind != watcher.KindPage {
		t.Fatalf("kind %s, want page", f.Kind)
	}
	pollOnce(t, w, f)

	links := [][2]string{
		{"/news/2026/rail-strike-called-off-after-talks", "Rail strike called off"},
		{"/2026/03/01/hospital-wing-opens-to-patients", "Hospital wing opens"},
		{"/news/2026/the-week-in-pictures-and-lists", "The week in lists"},
		{"/private/2026/staff-only-story-for-editors", "Staff only"},
		first,
	}
	s.set("/world/", htmlType, sectionPage(links...))
	s.set(links[0][0], htmlType, articlePage(s.URL, "Rail strike called off after late-night talks", "Ana Lind", story("rail strike")...))
	s.set(links[1][0], htmlType, articlePage(s.URL, "New hospital wing opens to its first patients", "Jonas Berg", story("hospital")...))
	// A link in the content that leads to a list page, not an article.
	var many [][2]string
	for i := 0; i < 12; i++ {
		many = append(many, [2]string{fmt.Sprintf("/news/2026/listed-item-number-%d-of-the-week", i), "Item"})
	}
	s.set(links[2][0], htmlType, sectionPage(many...))
	pollOnce(t, w, f)

	got := streamed(t, st)
	var titles []string
	for _, a := range got {
		titles = append(titles, a.Title)
	}
	want := []string{"New hospital wing opens to its first patients", "Rail strike called off after late-night talks"}
	if strings.Join(titles, "|") != strings.Join(want, "|") {
		t.Fatalf("published %q, want %q (oldest link first)", titles, want)
	}
	for _, path := range []string{"/news/2026/nav-promoted-story-in-the-menu", "/news/2026/footer-linked-story-everywhere",
		"/news/2026/trending-story-in-the-strip", "/news/2026/related-story-in-the-sidebar", "/tag/world", "/world/page/3",
		"/topics/elections-in-the-region-2026", first[0]} {
		if n, _ := s.fetches(path, false); n != 0 {
			t.Errorf("%s fetched: navigation noise, or a link already seen", path)
		}
	}
	if n, _ := s.fetches(links[2][0], false); n != 1 {
		t.Errorf("the list page behind a content link fetched %d times, want 1 (then marked seen)", n)
	}
	t.Logf("article pages in flight at once, at most: %d", s.maxPages.Load())
	if m := s.maxPages.Load(); m > 2 {
		t.Errorf("%d article pages fetched at once from one host, want at most 2", m)
	}
	pollOnce(t, w, f)
	if n, _ := s.fetches(links[2][0], false); n != 1 {
		t.Errorf("the list page fetched again on the next poll")
	}
}

// TestRealNewsPages publishes pages of real news sites (the corpus, served
// from loopback) found through a news sitemap: each arrives with its own
// title and clean text.
func TestRealNewsPages(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "corpora", "pages")
	names := []string{"bbc-1", "cnet", "heise", "la-nacion", "liberation-1", "nytimes-1", "wapo-1", "theverge"}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus of news pages not available (../shared is absent in a plain clone): %v", err)
	}
	st := storetest.New(t)
	w := newWatcher(t, st, time.Minute)
	w.FullTextWorkers = 4
	s := newNewsSite(t)
	s.set("/news-sitemap.xml", "application/xml", newsSitemap(s.URL))
	f, err := w.Add(context.Background(), s.URL+"/news-sitemap.xml", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	pollOnce(t, w, f)

	want := map[string]string{}
	var entries [][3]string
	for i, name := range names {
		page, err := os.ReadFile(filepath.Join(dir, name, "source.html"))
		if err != nil {
			t.Fatal(err)
		}
		meta, err := os.ReadFile(filepath.Join(dir, name, "expected-metadata.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Title string `json:"title"`
		}
		if err := json.Unmarshal(meta, &m); err != nil {
			t.Fatal(err)
		}
		path := "/2026/03/" + name + "-story"
		s.set(path, htmlType, string(page))
		want[s.URL+path] = m.Title
		entries = append(entries, [3]string{path, "Sitemap title " + name, recent(time.Duration(i+1) * time.Minute)})
	}
	s.set("/news-sitemap.xml", "application/xml", newsSitemap(s.URL, entries...))
	pollOnce(t, w, f)
	got := streamed(t, st)
	if len(got) != len(names) {
		var urls []string
		for _, a := range got {
			urls = append(urls, a.URL)
		}
		t.Fatalf("published %d of %d pages: %q", len(got), len(names), urls)
	}
	for _, a := range got {
		if strings.HasPrefix(a.Title, "Sitemap title") || a.Title == "" {
			t.Errorf("%s: title %q is not the page's own", a.URL, a.Title)
		}
		if strings.ContainsAny(a.Text, "<>") && strings.Contains(a.Text, "</") {
			t.Errorf("%s: markup in the text: %.200q", a.URL, a.Text)
		}
		if n := len(strings.Fields(a.Text)); n < watcher.MinArticleWords {
			t.Errorf("%s: %d words of text", a.URL, n)
		}
	}
	matched := 0
	for _, a := range got {
		for _, title := range want {
			if a.Title == title {
				matched++
			}
		}
	}
	if matched != len(names) {
		t.Errorf("%d of %d pages published under the title the corpus expects", matched, len(names))
	}
}

func TestRobotsCachedAndRevalidated(t *testing.T) {
	st := storetest.New(t)
	c := &clock{t: time.Now()}
	w := newWatcher(t, st, time.Minute)
	w.Now = c.Now
	s := newNewsSite(t)
	s.disallowed = "/private/"
	s.set("/robots.txt", "text/plain", "User-agent: *\nDisallow: /private/\n")
	s.set("/world/", htmlType, sectionPage())
	f, err := w.Add(context.Background(), s.URL+"/world/", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	pollOnce(t, w, f)
	pollOnce(t, w, f)
	// Another watcher process shares the copy in Redis.
	w2 := newWatcher(t, st, time.Minute)
	w2.Now = c.Now
	pollOnce(t, w2, f)
	if n, _ := s.fetches("/robots.txt", false); n != 1 {
		t.Fatalf("robots.txt fetched %d times in a day, want 1", n)
	}
	c.Add(25 * time.Hour)
	s.set("/world/", htmlType, sectionPage([2]string{"/private/2026/internal-story-for-staff-only", "Staff"}))
	pollOnce(t, w, f)
	if n, nm := s.fetches("/robots.txt", false); n != 2 || nm != 1 {
		t.Fatalf("robots.txt fetched %d times (%d conditional) after a day, want 2 (1)", n, nm)
	}
	// A link under the disallowed path is not fetched (the site would fail
	// the test) and not published.
	if got := streamed(t, st); len(got) != 0 {
		t.Fatalf("published %d articles from a disallowed path", len(got))
	}
}

func TestRobotsServerErrorDisallowsTheSite(t *testing.T) {
	st := storetest.New(t)
	w := newWatcher(t, st, time.Minute)
	// No robots.txt at all (404): everything is allowed.
	s := newNewsSite(t)
	s.set("/world/", htmlType, sectionPage())
	f, err := w.Add(context.Background(), s.URL+"/world/", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	pollOnce(t, w, f)
	if n, _ := s.fetches("/world/", false); n != 2 {
		t.Fatalf("with no robots.txt the page was fetched %d times, want 2 (discovery, poll)", n)
	}

	// robots.txt answering 503: nothing of the site is fetched.
	g := newNewsSite(t)
	g.robotsStatus = http.StatusServiceUnavailable
	g.set("/world/", htmlType, sectionPage())
	h, err := w.Add(context.Background(), g.URL+"/world/", 0, 0) // the page the operator named is looked at
	if err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	g.disallowed = "/world/"
	g.mu.Unlock()
	if err := w.Poll(context.Background(), h.ID); err == nil || !strings.Contains(err.Error(), "robots.txt") {
		t.Fatalf("poll with robots.txt answering 503 = %v, want a robots.txt refusal", err)
	}
	if got, _ := w.Get(context.Background(), h.ID); got.Errors != 1 {
		t.Errorf("errors = %d, want 1 (shown in feeds list, backed off)", got.Errors)
	}
}

func TestSourceAddedWhileDownIsLookedAtAgain(t *testing.T) {
	st := storetest.New(t)
	w := newWatcher(t, st, time.Minute)
	s := newNewsSite(t)
	// Not served yet (404) when added: taken as a feed, as Herald always
	// took URLs.
	f, err := w.Add(context.Background(), s.URL+"/", 0, 0)
	if err != nil || f.Kind != watcher.KindFeed || f.URL != s.URL+"/" {
		t.Fatalf("added while down: %+v, %v", f, err)
	}
	s.set("/", htmlType, `<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml"></head><body></body></html>`)
	s.set("/feed.xml", "application/rss+xml", `<?xml version="1.0"?><rss version="2.0"><channel><title>Gazette</title>
<item><title>Already there</title><link>`+s.URL+`/news/2026/already-there-before-the-first-fetch</link></item></channel></rss>`)
	pollOnce(t, w, f)
	g, err := w.Get(context.Background(), f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g.URL != s.URL+"/feed.xml" || g.Kind != watcher.KindFeed || g.Errors != 0 || g.Title != "Gazette" {
		t.Fatalf("after the first fetch: %s (%s), %d errors, title %q; want the linked feed", g.URL, g.Kind, g.Errors, g.Title)
	}
	if got := streamed(t, st); len(got) != 0 {
		t.Errorf("the first fetch published %d items, want them marked seen", len(got))
	}
	// Adding the feed's URL now finds the same source.
	h, err := w.Add(context.Background(), s.URL+"/feed.xml", 0, 0)
	if err != nil || h.ID != f.ID {
		t.Errorf("adding the feed's URL: %+v, %v", h, err)
	}
}
