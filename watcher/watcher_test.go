package watcher_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/fetch"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/watcher"
)

// site is a news site over real HTTP: an RSS feed at /feed.xml whose items
// the test controls, article pages under /news/, and counters of requests.
type site struct {
	*httptest.Server
	mu        sync.Mutex
	title     string
	items     []item // newest first
	pages     map[string]string
	extra     string // more channel elements (ttl, hub link)
	etag      bool   // answer 304 to If-None-Match
	status    int    // answer the feed with this status instead
	header    http.Header
	feedHits  atomic.Int64
	notMod    atomic.Int64
	pageHits  atomic.Int64
	redirects map[string]string // path → permanent redirect target path
}

type item struct {
	Title string `xml:"title"`
	Link  string `xml:"link"`
	GUID  string `xml:"guid"`
	Date  string `xml:"pubDate"`
	Desc  string `xml:"description"`
}

func newSite(t *testing.T, title string) *site {
	s := &site{title: title, pages: map[string]string{}, redirects: map[string]string{}, header: http.Header{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *site) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if to, ok := s.redirects[r.URL.Path]; ok {
		http.Redirect(w, r, to, http.StatusMovedPermanently)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/news/") {
		s.pageHits.Add(1)
		page, ok := s.pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
		return
	}
	s.feedHits.Add(1)
	for k, v := range s.header {
		w.Header()[k] = v
	}
	if s.status != 0 {
		w.WriteHeader(s.status)
		return
	}
	body := s.feedXML()
	tag := fmt.Sprintf(`"%x"`, len(body)*31+len(s.items))
	if s.etag {
		w.Header().Set("ETag", tag)
		if r.Header.Get("If-None-Match") == tag {
			s.notMod.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	io.WriteString(w, body)
}

func (s *site) feedXML() string {
	var b strings.Builder
	b.WriteString(xml.Header + `<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>`)
	fmt.Fprintf(&b, "<title>%s</title><link>%s/</link>%s", s.title, s.URL, s.extra)
	for _, it := range s.items {
		out, _ := xml.Marshal(struct {
			XMLName xml.Name `xml:"item"`
			item
		}{item: it})
		b.Write(out)
	}
	b.WriteString("</channel></rss>")
	return b.String()
}

// publish puts an item on top of the feed; its link is /news/<slug>.
func (s *site) publish(slug, title, desc string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	link := s.URL + "/news/" + slug
	date := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(len(s.items)) * time.Minute)
	s.items = append([]item{{Title: title, Link: link, GUID: link, Date: date.Format(time.RFC1123Z), Desc: desc}}, s.items...)
	return link
}

func (s *site) set(fn func(s *site)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

// clock is a controllable time for scheduling tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newWatcher(t *testing.T, st *store.Store, interval time.Duration) *watcher.Watcher {
	t.Helper()
	f := fetch.New(fetch.Options{AllowPrivate: true, UserAgent: "Herald-test"})
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return watcher.New(st, f, interval, log)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// streamed returns the articles on the stream, oldest first.
func streamed(t *testing.T, st *store.Store) []*article.Article {
	t.Helper()
	ctx := context.Background()
	msgs, err := st.Redis.XRange(ctx, articles.StreamKey(st), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []*article.Article
	for _, m := range msgs {
		out = append(out, load(t, st, m.Values["article"].(string)))
	}
	return out
}

func load(t *testing.T, st *store.Store, id string) *article.Article {
	t.Helper()
	b, err := st.Redis.Get(context.Background(), articles.Key(st, id)).Bytes()
	if err != nil {
		t.Fatalf("article %s: %v", id, err)
	}
	var a article.Article
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	return &a
}

func addAndPoll(t *testing.T, w *watcher.Watcher, url string, backfill int) *watcher.Feed {
	t.Helper()
	ctx := context.Background()
	f, err := w.Add(ctx, url, 0, backfill)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Poll(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	f, err = w.Get(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// longText is an article body well over the full-text threshold, different
// for each seed word.
func longText(topic string) string {
	var b strings.Builder
	for i := range 12 {
		fmt.Fprintf(&b, "Paragraph %d on %s: officials in the %s ministry said on Tuesday that the plan number %d would be reviewed by the committee before the %s budget vote next month. ", i, topic, topic, i*7+3, topic)
	}
	return b.String()
}

func TestWatcherNewFeedDoesNotFlood(t *testing.T) {
	st := storetest.New(t)
	w := newWatcher(t, st, time.Minute)
	w.Complete = nil
	s := newSite(t, "Wire")
	for i := range 5 {
		s.publish(fmt.Sprintf("old-%d", i), fmt.Sprintf("Old story %d", i), longText("old"))
	}
	f := addAndPoll(t, w, s.URL+"/feed.xml", 0)
	if got := streamed(t, st); len(got) != 0 {
		t.Fatalf("a new feed published %d existing items, want none", len(got))
	}
	s.publish("fresh", "Fresh story", longText("fresh"))
	if err := w.Poll(context.Background(), f.ID); err != nil {
		t.Fatal(err)
	}
	got := streamed(t, st)
	if len(got) != 1 || got[0].Title != "Fresh story" {
		t.Fatalf("after one new item: %d published (%v), want the fresh one", len(got), got)
	}

	t.Run("backfill publishes the newest N", func(t *testing.T) {
		st := storetest.New(t)
		w := newWatcher(t, st, time.Minute)
		w.Complete = nil
		addAndPoll(t, w, s.URL+"/feed.xml", 2)
		got := streamed(t, st)
		if len(got) != 2 || got[0].Title != "Old story 4" || got[1].Title != "Fresh story" {
			var titles []string
			for _, a := range got {
				titles = append(titles, a.Title)
			}
			t.Fatalf("backfill 2 published %q, want the two newest, oldest first", titles)
		}
	})
}

// Two watchers sharing feeds fetch each due feed once. They share a clock
// that the test moves one interval and its jitter at a time: after each
// move every feed is fetched (the signal waited for), and as the clock then
// stands still no feed is due again (the next poll is at least the interval
// less its jitter away), so any further fetch in that step would be the
// second watcher taking a feed the first had already claimed.
func TestWatcherSharedFeedsFetchedOncePerInterval(t *testing.T) {
	st := storetest.New(t)
	const interval = time.Second
	c := &clock{t: time.Now()}
	sites := []*site{newSite(t, "A"), newSite(t, "B")}
	w1, w2 := newWatcher(t, st, interval), newWatcher(t, st, interval)
	w1.Now, w2.Now = c.Now, c.Now
	added := map[*site]int64{}
	for _, s := range sites {
		s.publish("x", "X", longText("x"))
		if _, err := w1.Add(context.Background(), s.URL+"/feed.xml", 0, 0); err != nil {
			t.Fatal(err)
		}
		added[s] = s.feedHits.Load() // Add looked at the URL once to see it is a feed
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, w := range []*watcher.Watcher{w1, w2} {
		wg.Add(1)
		go func() { defer wg.Done(); w.Run(ctx) }()
	}
	const steps = 4
	for step := int64(1); step <= steps; step++ {
		if step == 2 {
			// The first fetch settled each feed at its phase, up to an
			// interval and a half later.
			c.Add(interval*3/2 + watcher.Jitter(interval))
		} else {
			c.Add(interval + watcher.Jitter(interval))
		}
		for _, s := range sites {
			limit := time.Now().Add(30 * time.Second)
			for s.feedHits.Load()-added[s] < step && time.Now().Before(limit) {
				time.Sleep(5 * time.Millisecond)
			}
		}
		for _, s := range sites {
			if n := s.feedHits.Load() - added[s]; n != step {
				t.Errorf("interval %d: feed %s fetched %d times by two watchers, want %d", step, s.title, n, step)
			}
		}
	}
	cancel()
	wg.Wait()
	for _, s := range sites {
		if n := s.feedHits.Load() - added[s]; n != steps {
			t.Errorf("feed %s fetched %d times in %d intervals, want %d", s.title, n, steps, steps)
		}
	}
}

func TestWatcherNotModifiedKeepsState(t *testing.T) {
	st := storetest.New(t)
	c := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	w := newWatcher(t, st, time.Minute)
	w.Now = c.Now
	w.Complete = nil
	s := newSite(t, "Wire")
	s.set(func(s *site) { s.etag = true; s.extra = "<ttl>60</ttl>" })
	s.publish("a", "A", longText("a"))
	f := addAndPoll(t, w, s.URL+"/feed.xml", 0)
	ctx := context.Background()
	for range 2 {
		c.Add(2 * time.Hour)
		if err := w.Poll(ctx, f.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.notMod.Load(); n != 2 {
		t.Fatalf("%d polls answered 304, want 2 (validators not sent?)", n)
	}
	f, _ = w.Get(ctx, f.ID)
	if f.Errors != 0 || f.Title != "Wire" {
		t.Fatalf("after 304s: errors %d, title %q", f.Errors, f.Title)
	}
	// The feed's ttl (60 minutes) still lengthens the 1-minute interval
	// though the last two answers carried no feed.
	if want := c.Now().Add(time.Hour); f.NextPoll.Before(want) {
		t.Fatalf("next poll %s, want at least %s (ttl kept across 304)", f.NextPoll, want)
	}
	// A new item changes the ETag: it is fetched and published.
	s.publish("b", "B", longText("b"))
	c.Add(2 * time.Hour)
	if err := w.Poll(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if got := streamed(t, st); len(got) != 1 || got[0].Title != "B" {
		t.Fatalf("after a change: %d published, want B", len(got))
	}
}

func TestWatcherFailingFeedBacksOffAndIsMarked(t *testing.T) {
	st := storetest.New(t)
	c := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	w := newWatcher(t, st, time.Second)
	w.Now = c.Now
	s := newSite(t, "Down")
	s.set(func(s *site) { s.status = http.StatusInternalServerError })
	ctx := context.Background()
	f, err := w.Add(ctx, s.URL+"/feed.xml", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var prevWait time.Duration
	for i := 1; i <= 3; i++ {
		if err := w.Poll(ctx, f.ID); err == nil {
			t.Fatal("poll of a failing feed reported no error")
		}
		f, _ = w.Get(ctx, f.ID)
		wait := f.NextPoll.Sub(c.Now())
		if f.Errors != i || wait < fetch.BackoffBase/2<<(i-1) {
			t.Fatalf("failure %d: errors %d, next poll in %s", i, f.Errors, wait)
		}
		if i > 1 && wait < prevWait/2 {
			t.Fatalf("back-off shrank: %s after %s", wait, prevWait)
		}
		prevWait = wait
		if f.Broken {
			t.Fatalf("broken after %d failures within minutes", i)
		}
		c.Add(wait)
	}
	c.Add(25 * time.Hour)
	w.Poll(ctx, f.ID)
	f, _ = w.Get(ctx, f.ID)
	if !f.Broken || !strings.Contains(f.LastError, "500") {
		t.Fatalf("failing for a day: broken %v, last error %q", f.Broken, f.LastError)
	}

	// Retry-After on 503 is honoured (capped at a day).
	s.set(func(s *site) { s.status = http.StatusServiceUnavailable; s.header.Set("Retry-After", "7200") })
	w.Poll(ctx, f.ID)
	f, _ = w.Get(ctx, f.ID)
	if wait := f.NextPoll.Sub(c.Now()); wait < 2*time.Hour || wait > 24*time.Hour {
		t.Fatalf("503 with Retry-After 2h: next poll in %s", wait)
	}

	// Recovery clears the mark.
	s.set(func(s *site) { s.status = 0; s.header = http.Header{} })
	if err := w.Poll(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	f, _ = w.Get(ctx, f.ID)
	if f.Broken || f.Errors != 0 || f.LastError != "" {
		t.Fatalf("after recovery: broken %v, errors %d, %q", f.Broken, f.Errors, f.LastError)
	}
}

func TestWatcherPermanentRedirectUpdatesURL(t *testing.T) {
	st := storetest.New(t)
	w := newWatcher(t, st, time.Minute)
	w.Complete = nil
	s := newSite(t, "Moved")
	s.publish("a", "A", longText("a"))
	s.set(func(s *site) { s.redirects["/old.xml"] = "/feed.xml" })
	ctx := context.Background()
	f := addAndPoll(t, w, s.URL+"/old.xml", 0)
	if f.URL != s.URL+"/feed.xml" || f.ID != watcher.FeedID(s.URL+"/old.xml") {
		t.Fatalf("after a 301: url %s id %s, want the new URL under the old id", f.URL, f.ID)
	}
	// Adding the new URL finds the same feed instead of a second one.
	g, err := w.Add(ctx, s.URL+"/feed.xml", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	feeds, _ := w.List(ctx)
	if g.ID != f.ID || len(feeds) != 1 {
		t.Fatalf("adding the new URL: id %s (want %s), %d feeds watched", g.ID, f.ID, len(feeds))
	}
	// New items keep arriving through the new URL, with the state kept.
	s.publish("b", "B", longText("b"))
	if err := w.Poll(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if got := streamed(t, st); len(got) != 1 || got[0].FeedURL != s.URL+"/feed.xml" {
		t.Fatalf("after the move: %d published", len(got))
	}
	if err := w.Remove(ctx, s.URL+"/feed.xml"); err != nil {
		t.Fatalf("remove by the new URL: %v", err)
	}
	if feeds, _ := w.List(ctx); len(feeds) != 0 {
		t.Fatalf("%d feeds left after remove", len(feeds))
	}

	t.Run("moved onto a feed already watched", func(t *testing.T) {
		st := storetest.New(t)
		w := newWatcher(t, st, time.Minute)
		w.Complete = nil
		addAndPoll(t, w, s.URL+"/feed.xml", 0)
		f, err := w.Add(ctx, s.URL+"/old.xml", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Poll(ctx, f.ID); err != nil {
			t.Fatal(err)
		}
		feeds, _ := w.List(ctx)
		if len(feeds) != 1 || feeds[0].URL != s.URL+"/feed.xml" {
			t.Fatalf("%d feeds after a move onto a watched one, want 1", len(feeds))
		}
		if ok, _ := w.Watched(ctx, s.URL+"/old.xml"); !ok {
			t.Fatal("the old URL is not known as watched any more")
		}
	})
}

func TestWatcherNearDuplicateIsOneStory(t *testing.T) {
	st := storetest.New(t)
	w := newWatcher(t, st, time.Minute)
	w.Complete = nil
	ctx := context.Background()
	body := longText("harbour")
	a, b, other := newSite(t, "First Wire"), newSite(t, "Second Daily"), newSite(t, "Third Post")
	var feeds []*watcher.Feed
	for _, s := range []*site{a, b, other} {
		feeds = append(feeds, addAndPoll(t, w, s.URL+"/feed.xml", 0))
	}
	a.publish("harbour", "Harbour plan reviewed", body)
	// Re-published elsewhere with a new headline, a changed word and a
	// sign-off: the same story.
	b.publish("harbour-copy", "Ministry to review harbour plan",
		strings.Replace(body, "Tuesday", "Wednesday", 1)+" Reporting by the Second Daily desk.")
	other.publish("budget", "Budget vote", longText("railway"))
	for _, f := range feeds {
		if err := w.Poll(ctx, f.ID); err != nil {
			t.Fatal(err)
		}
	}
	got := streamed(t, st)
	if len(got) != 3 {
		t.Fatalf("%d published, want 3 (a near-duplicate is still published, under the first's story)", len(got))
	}
	first, copy, unrelated := load(t, st, got[0].ID), got[1], got[2]
	if first.StoryID != first.ID || copy.StoryID != first.ID {
		t.Fatalf("story ids: first %s (id %s), copy %s", first.StoryID, first.ID, copy.StoryID)
	}
	if unrelated.StoryID != unrelated.ID {
		t.Fatalf("an unrelated article joined story %s", unrelated.StoryID)
	}
	if len(first.Sources) != 1 || first.Sources[0] != "Second Daily" {
		t.Fatalf("first article's sources %q, want [Second Daily]", first.Sources)
	}
	if copy.Simhash == 0 || bits.OnesCount64(copy.Simhash^first.Simhash) > article.NearDuplicateBits {
		t.Fatalf("fingerprints %x %x", first.Simhash, copy.Simhash)
	}

	t.Run("concurrent watchers make one story", func(t *testing.T) {
		st := storetest.New(t)
		body := longText("airport")
		const n = 6
		var ids []string
		var watchers []*watcher.Watcher
		for i := range n {
			w := newWatcher(t, st, time.Minute)
			w.Complete = nil
			s := newSite(t, fmt.Sprintf("Paper %d", i))
			f := addAndPoll(t, w, s.URL+"/feed.xml", 0)
			s.publish("airport", "Airport", body+fmt.Sprintf(" Copyright Paper %d.", i))
			ids = append(ids, f.ID)
			watchers = append(watchers, w)
		}
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := watchers[i].Poll(ctx, ids[i]); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got := streamed(t, st)
		if len(got) != n {
			t.Fatalf("%d published, want %d", len(got), n)
		}
		story := got[0].StoryID
		heads := 0
		for _, a := range got {
			if a.StoryID != story {
				t.Errorf("article %s in story %s, want %s", a.ID, a.StoryID, story)
			}
			if a.StoryID == a.ID {
				heads++
			}
		}
		if heads != 1 {
			t.Errorf("%d articles head the story, want 1", heads)
		}
		if head := load(t, st, story); len(head.Sources) != n-1 {
			t.Errorf("story head lists %d other sources, want %d", len(head.Sources), n-1)
		}
	})
}

func TestWatcherFullTextForShortItems(t *testing.T) {
	st := storetest.New(t)
	w := newWatcher(t, st, time.Minute)
	w.FullTextBudget = 3
	ctx := context.Background()
	s := newSite(t, "Teasers")
	f := addAndPoll(t, w, s.URL+"/feed.xml", 0)
	page := func(slug string) string {
		var p strings.Builder
		fmt.Fprintf(&p, `<!doctype html><html lang="en"><head><title>%s | Teasers</title>
<meta name="author" content="Ana Reporter"><meta property="og:site_name" content="Teasers Online">
<link rel="canonical" href="%s/news/%s?utm_source=rss"></head><body>
<nav><a href="/">Home</a> <a href="/world">World</a></nav><article><h1>Story %s</h1>`, slug, s.URL, slug, slug)
		for i := range 8 {
			fmt.Fprintf(&p, "<p>Paragraph %d of the full story %s: the harbour authority said the new quay would open in spring after a long review, and fishermen welcomed the decision at a meeting in the town hall.</p>\n", i, slug)
		}
		p.WriteString("</article><footer>Copyright Teasers</footer></body></html>")
		return p.String()
	}
	for i := range 5 {
		slug := fmt.Sprintf("s%d", i)
		s.set(func(s *site) { s.pages["/news/"+slug] = page(slug) })
		s.publish(slug, "Story "+slug, "A short teaser.")
	}
	if err := w.Poll(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if n := s.pageHits.Load(); n != 3 {
		t.Fatalf("%d pages fetched for 5 short items with a budget of 3", n)
	}
	got := streamed(t, st)
	if len(got) != 5 {
		t.Fatalf("%d published, want 5", len(got))
	}
	full := 0
	for _, a := range got {
		if strings.Contains(a.Text, "harbour authority") {
			full++
			if a.Lang != "en" {
				t.Errorf("lang %q, want en: the page's and the text's", a.Lang)
			}
			if a.Author != "Ana Reporter" {
				t.Errorf("author %q, want the page's byline", a.Author)
			}
			if a.Source != "Teasers" {
				t.Errorf("source %q: the feed's title should stay", a.Source)
			}
			if !strings.HasSuffix(a.URL, "/news/"+strings.TrimPrefix(a.Title, "Story ")) {
				t.Errorf("url %s", a.URL)
			}
		} else if a.Text != "" && a.Text != "A short teaser." {
			t.Errorf("unexpected text %q", a.Text)
		}
	}
	// The budget goes to the newest items.
	if full != 3 || !strings.Contains(got[4].Text, "harbour authority") {
		t.Fatalf("%d articles got full text (newest has %d chars), want the newest 3", full, len(got[4].Text))
	}
	if err := w.Poll(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if n := s.pageHits.Load(); n != 3 {
		t.Fatalf("a second poll fetched pages again (%d)", n)
	}
}

func TestWatcherFullTextPrefersPageCanonical(t *testing.T) {
	st := storetest.New(t)
	w := newWatcher(t, st, time.Minute)
	ctx := context.Background()
	s := newSite(t, "Wire")
	f := addAndPoll(t, w, s.URL+"/feed.xml", 0)
	var body strings.Builder
	for i := range 6 {
		fmt.Fprintf(&body, "<p>Paragraph %d: the council approved the new tram line after a debate that lasted most of the night, and work is due to start in the autumn.</p>", i)
	}
	s.set(func(s *site) {
		s.pages["/news/tram"] = `<html><head><title>Tram</title><link rel="canonical" href="/news/2026/tram-line"></head><body><article><h1>Tram</h1>` + body.String() + `</article></body></html>`
	})
	s.publish("tram", "Tram line approved", "Teaser.")
	if err := w.Poll(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	got := streamed(t, st)
	if len(got) != 1 || got[0].URL != s.URL+"/news/2026/tram-line" || got[0].ID != article.IDFor(got[0].URL) {
		t.Fatalf("published %+v, want the page's canonical URL", got)
	}
	// The feed's link is remembered as seen too: no second page fetch.
	if err := w.Poll(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if n := s.pageHits.Load(); n != 1 {
		t.Fatalf("page fetched %d times", n)
	}
}

// A feed polled on time is not overdue, even a moment after it fell due;
// one left unpolled past the grace is.
func TestWatcherOverdueCountsOnlyLateFeeds(t *testing.T) {
	st := storetest.New(t)
	const interval = time.Minute
	c := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	w := newWatcher(t, st, interval)
	w.Now = c.Now
	w.Complete = nil
	s := newSite(t, "Wire")
	s.set(func(s *site) { s.etag = true })
	ctx := context.Background()
	var feeds []*watcher.Feed
	for i := range 5 {
		f, err := w.AddFeed(ctx, fmt.Sprintf("%s/feed.xml?n=%d", s.URL, i), 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		feeds = append(feeds, f)
	}
	grace := watcher.OverdueGrace(interval)
	overdue := func() int64 {
		t.Helper()
		n, err := watcher.Overdue(ctx, st, c.Now(), grace)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Steady state: every feed polled when due, a few seconds late (the
	// first fetch settles each at its phase, up to an interval and a half
	// later).
	c.Add(watcher.Jitter(interval)) // the first polls, due within the jitter
	for range 5 * int(interval/(5*time.Second)) {
		if n := overdue(); n != 0 {
			t.Fatalf("%d feeds overdue a few seconds after falling due, want 0", n)
		}
		due, err := st.Redis.ZRangeByScore(ctx, st.Key("feeds", "due"), &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(c.Now().UnixMilli(), 10)}).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range due {
			if err := w.Poll(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if n := overdue(); n != 0 {
			t.Fatalf("%d feeds overdue just after their polls, want 0", n)
		}
		c.Add(5 * time.Second)
	}
	// The watchers stop: past the grace every feed counts.
	c.Add(interval + watcher.Jitter(interval) + grace + time.Second)
	if n := overdue(); n != int64(len(feeds)) {
		t.Fatalf("%d feeds overdue past the grace, want %d", n, len(feeds))
	}
}
