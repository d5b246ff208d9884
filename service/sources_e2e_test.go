package service_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/config"
)

// noFeedSite is a news site with no feed: a homepage, a robots.txt that
// names its news sitemap and disallows /private/, a section page, and
// article pages wrapped in navigation. A request under /private/ fails
// the test.
type noFeedSite struct {
	*httptest.Server
	t      *testing.T
	mu     sync.Mutex
	paths  map[string]string
	agents map[string]bool
}

func newNoFeedSite(t *testing.T) *noFeedSite {
	s := &noFeedSite{t: t, paths: map[string]string{}, agents: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/private/") {
			t.Errorf("herald fetched %s, which robots.txt disallows", r.URL.Path)
		}
		s.mu.Lock()
		s.agents[r.UserAgent()] = true
		body, ok := s.paths[r.URL.Path]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		switch {
		case strings.HasSuffix(r.URL.Path, ".xml"):
			w.Header().Set("Content-Type", "application/xml")
		case r.URL.Path == "/robots.txt":
			w.Header().Set("Content-Type", "text/plain")
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(s.Close)
	s.set("/", `<html><head><title>Harbour Gazette</title></head><body><main><a href="/world/">World</a></main></body></html>`)
	s.set("/robots.txt", "User-agent: *\nDisallow: /private/\nSitemap: "+s.URL+"/news-sitemap.xml\n")
	s.set("/news-sitemap.xml", s.sitemap())
	s.set("/world/", s.section())
	return s
}

func (s *noFeedSite) set(path, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paths[path] = body
}

// sitemap lists the paths given, published a few minutes ago.
func (s *noFeedSite) sitemap(paths ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">`)
	for _, p := range paths {
		fmt.Fprintf(&b, `<url><loc>%s%s</loc><news:news><news:publication_date>%s</news:publication_date><news:title>from the sitemap</news:title></news:news></url>`,
			s.URL, p, time.Now().Add(-5*time.Minute).UTC().Format(time.RFC3339))
	}
	return b.String() + "</urlset>"
}

// section is the World page: links to the paths given amid navigation.
func (s *noFeedSite) section(paths ...string) string {
	var b strings.Builder
	b.WriteString(`<html><head><title>World</title></head><body><nav><a href="/news/2026/menu-story-never-an-alert">Menu</a></nav><main>`)
	for _, p := range paths {
		fmt.Fprintf(&b, `<article><h2><a href="%s">Headline</a></h2></article>`, p)
	}
	return b.String() + `</main><footer><a href="/news/2026/footer-story-never-an-alert">Footer</a></footer></body></html>`
}

// article is a page with its own title and text inside the site's chrome.
func (s *noFeedSite) article(path, title, lead string) {
	// Text of its own, so that two articles are not one story to Herald.
	words := strings.Fields("port council ferry quay storm market bridge school museum rail tide crane dock pier boat crew fish net sail wind")
	var text strings.Builder
	for i := 0; i < 6; i++ {
		fmt.Fprintf(&text, "<p>%s", lead)
		for j := 0; j < 30; j++ {
			fmt.Fprintf(&text, " %s%d", words[(len(title)*(j+3)+i*7+j*j)%len(words)], (j*len(lead)+i)%89)
		}
		text.WriteString(".</p>\n")
	}
	s.set(path, fmt.Sprintf(`<!doctype html><html lang="en"><head><title>%s | Harbour Gazette</title><meta property="og:title" content="%s"></head>
<body><header><nav><a href="/">Home</a> <a href="/world/">World</a> <a href="/sport/">Sport menu item</a></nav></header>
<main><article><h1>%s</h1>%s</article></main><footer>Copyright Harbour Gazette footer text</footer></body></html>`, title, title, title, text.String()))
}

func TestEndToEndSitesWithoutFeeds(t *testing.T) {
	const admin = 777
	h := startWith(t, func(c *config.Config) { c.TelegramAdmins = []int64{admin} })
	h.tg.AddChat(telegramtest.Chat{ID: admin, Type: telegramtest.Private, FirstName: "Ed"})
	withFeed := newNoFeedSite(t)
	withFeed.set("/", `<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml"></head><body>Hi</body></html>`)
	withFeed.set("/feed.xml", `<?xml version="1.0"?><rss version="2.0"><channel><title>Gazette</title><link>`+withFeed.URL+`/</link></channel></rss>`)
	sitemapSite, sectionSite := newNoFeedSite(t), newNoFeedSite(t)
	sectionSite.set("/robots.txt", "User-agent: *\nDisallow: /private/\n")

	replies := 0
	say := func(text string) string {
		t.Helper()
		h.tg.SendText(admin, admin, text)
		replies++
		return h.tg.WaitSentTo(10*time.Second, admin, replies)[replies-1].Plain
	}
	if r := say("/addfeed " + withFeed.URL + "/"); !strings.Contains(r, "Watching "+withFeed.URL+"/feed.xml (feed, found on "+withFeed.URL+"/)") {
		t.Errorf("/addfeed of a homepage linking its feed: %q", r)
	}
	if r := say("/addfeed " + sitemapSite.URL + "/"); !strings.Contains(r, "Watching "+sitemapSite.URL+"/news-sitemap.xml (sitemap, found on") {
		t.Errorf("/addfeed of a site with only a news sitemap: %q", r)
	}
	if r := say("/addfeed " + sectionSite.URL + "/world/"); !strings.Contains(r, "Watching "+sectionSite.URL+"/world/ (page)") {
		t.Errorf("/addfeed of a section page: %q", r)
	}
	if r := say("/sub harbour"); !strings.Contains(r, "Following") {
		t.Fatalf("/sub: %q", r)
	}
	waitFor(t, 15*time.Second, "every source's first fetch", func() bool {
		feeds, err := h.svc.Watcher.List(context.Background())
		if err != nil || len(feeds) != 4 { // the harness watches a feed of its own too
			return false
		}
		for _, f := range feeds {
			if f.LastFetch.IsZero() || f.Errors > 0 {
				return false
			}
		}
		return true
	})
	r := say("/feeds")
	for _, want := range []string{"news-sitemap.xml (sitemap)", "/world/ (page)", "/feed.xml (feed)"} {
		if !strings.Contains(r, want) {
			t.Errorf("/feeds lacks %q:\n%s", want, r)
		}
	}

	// A new article on each site, and one the sitemap lists under a path
	// robots.txt disallows.
	published := time.Now()
	sitemapSite.article("/news/2026/harbour-ferry-returns-after-storm", "Harbour ferry returns after the storm", "The ferry is back.")
	sitemapSite.set("/news-sitemap.xml", sitemapSite.sitemap("/news/2026/harbour-ferry-returns-after-storm", "/private/2026/harbour-staff-memo-for-editors"))
	sectionSite.article("/news/2026/harbour-market-opens-on-the-quay", "Harbour market opens on the quay", "Stalls opened at dawn.")
	sectionSite.set("/world/", sectionSite.section("/news/2026/harbour-market-opens-on-the-quay"))

	// Alerts that arrive together may be gathered into one message.
	titles := []string{"Harbour ferry returns after the storm", "Harbour market opens on the quay"}
	got := map[string]string{}
	waitFor(t, 20*time.Second, "alerts with the pages' own titles", func() bool {
		for _, m := range h.tg.SentTo(admin)[replies:] {
			for _, title := range titles {
				if strings.Contains(m.Plain, title) {
					got[title] = m.Plain
				}
			}
		}
		return len(got) == len(titles)
	})
	latency := time.Since(published)
	t.Logf("new pages on a sitemap and a section page to alerts: %s (poll interval 1s)", latency.Round(time.Millisecond))
	fmt.Fprintf(os.Stderr, "e2e: pages new on a sitemap and a section page reached Telegram within %s\n", latency.Round(time.Millisecond))
	for title, plain := range got {
		t.Logf("alert: %s", plain)
		for _, noise := range []string{"Sport menu item", "Copyright Harbour Gazette", "from the sitemap", "<"} {
			if strings.Contains(plain, noise) {
				t.Errorf("alert for %q carries %q:\n%s", title, noise, plain)
			}
		}
	}
	// The positive signal that nothing more is coming: every article read
	// and every alert sent.
	waitFor(t, 10*time.Second, "the matcher to finish", func() bool { return h.queueIdle(t, "articles") })
	waitFor(t, 10*time.Second, "the sender to finish", func() bool { return h.queueIdle(t, "telegram") })
	for _, site := range []*noFeedSite{withFeed, sitemapSite, sectionSite} {
		site.mu.Lock()
		for ua := range site.agents {
			if !strings.HasPrefix(ua, "Herald/") || !strings.Contains(ua, "(+"+h.base+")") {
				t.Errorf("User-Agent %q does not name Herald and the operator's URL %s", ua, h.base)
			}
		}
		site.mu.Unlock()
	}
	alerts := 0
	for _, m := range h.tg.SentTo(admin)[replies:] {
		for _, title := range titles {
			alerts += strings.Count(m.Plain, title)
		}
		if strings.Contains(m.Plain, "never an alert") || strings.Contains(m.Plain, "memo") {
			t.Errorf("an alert for a menu link or a disallowed page: %s", m.Plain)
		}
	}
	if alerts != len(titles) {
		t.Errorf("the alerts name %d articles, want %d (the disallowed page, or a menu link, made one?)", alerts, len(titles))
	}
}
