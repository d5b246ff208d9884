package bot

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/fetch"
	"github.com/herald-news/herald/matcher"
	"github.com/herald-news/herald/watcher"
)

// rssSite serves an RSS feed on loopback whose items the test sets.
type rssSite struct {
	*httptest.Server
	mu    sync.Mutex
	items []string // <item> elements, newest first
}

func newRSSSite(t *testing.T) *rssSite {
	s := &rssSite{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/feed.xml" {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Minsk Wire</title><link>`+s.URL+`/</link>`+
			strings.Join(s.items, "")+`</channel></rss>`)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *rssSite) publish(slug, title string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = append([]string{fmt.Sprintf(`<item><title>%s</title><link>%s/news/%s</link><guid>%s/news/%s</guid><pubDate>%s</pubDate><description>%s, reported from Minsk.</description></item>`,
		title, s.URL, slug, s.URL, slug, at.UTC().Format(time.RFC1123Z), title)}, s.items...)
}

// On a fresh install the first poll of a new feed announces nothing, but
// /preview finds its items at once; the feed's next new item is alerted,
// and is the only alert.
func TestPreviewFindsANewFeedsFirstItems(t *testing.T) {
	c := newConvo(t, false)
	ctx := context.Background()
	const me = 1401
	want(t, c.say(me, me, "/sub belarus"), "Following belarus")

	m := matcher.New(c.st, c.subs, quietLog(t))
	mctx, cancel := context.WithCancel(ctx)
	mdone := make(chan struct{})
	go func() { m.Run(mctx); close(mdone) }()
	t.Cleanup(func() { cancel(); <-mdone })
	runSender(t, NewSender(c.st, c.subs, &APITransport{API: apiClient(t, c.srv)}, quietLog(t)))

	site := newRSSSite(t)
	now := time.Now()
	site.publish("old-1", "Belarus reopens the Kozlovichi crossing", now.Add(-3*time.Hour))
	site.publish("old-2", "Belarus and Lithuania talk about rail freight", now.Add(-2*time.Hour))
	site.publish("old-3", "Weather in Vilnius", now.Add(-time.Hour))
	w := watcher.New(c.st, fetch.New(fetch.Options{AllowPrivate: true, UserAgent: "Herald-test"}), time.Minute, quietLog(t))
	w.Complete = nil
	f, err := w.Add(ctx, site.URL+"/feed.xml", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Poll(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.st.Redis.XLen(ctx, articles.StreamKey(c.st)).Result(); n != 0 {
		t.Fatalf("the first poll announced %d items, want none", n)
	}

	p := c.say(me, me, "/preview belarus")
	want(t, p, "2 of the last 3 articles match", "Belarus reopens the Kozlovichi crossing", "Belarus and Lithuania talk about rail freight")
	if strings.Contains(p.Plain, "Vilnius") {
		t.Fatalf("preview lists an item that does not match: %q", p.Plain)
	}
	// The newest first.
	if strings.Index(p.Plain, "Lithuania") > strings.Index(p.Plain, "Kozlovichi") {
		t.Fatalf("preview not newest first: %q", p.Plain)
	}

	// The next item is news: it is alerted, and it is the only alert.
	before := len(c.srv.SentTo(me))
	site.publish("new-1", "Belarus frees two journalists", now)
	if err := w.Poll(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	alert := c.srv.WaitSentTo(10*time.Second, me, before+1)[before]
	want(t, alert, "Belarus frees two journalists")
	waitAcked(t, c.st)
	for _, msg := range c.srv.SentTo(me)[before:] {
		if strings.Contains(msg.Plain, "Kozlovichi") || strings.Contains(msg.Plain, "rail freight") {
			t.Fatalf("an alert for a first-poll item: %q", msg.Plain)
		}
	}
	if got := len(c.srv.SentTo(me)); got != before+1 {
		t.Fatalf("%d messages after the new item, want its one alert", got-before)
	}
}
