package web_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/feed"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/token"
)

// store saves an article as the watcher does.
func storeArticle(t *testing.T, s *site, a article.Article) {
	t.Helper()
	b, _ := json.Marshal(a)
	if err := s.st.Redis.Set(context.Background(), articles.Key(s.st, a.ID), b, 0).Err(); err != nil {
		t.Fatal(err)
	}
}

// feedSite is a site with one Telegram chat whose feed holds a plain
// article and a hostile one, queued as the matcher queues alerts.
func feedSite(t *testing.T) (s *site, feedURL string, hostile string) {
	s = newSite(t)
	ctx := context.Background()
	sub := &subscriptions.Subscriber{ID: "tg:42", Kind: subscriptions.KindTelegram, ChatID: 42, Status: subscriptions.StatusActive,
		Topics: []string{"belarus"}, Created: time.Unix(1700000000, 0).UTC()}
	if err := s.subs.Put(ctx, sub); err != nil {
		t.Fatal(err)
	}
	pub := time.Unix(1700003600, 0).UTC()
	plain := article.Article{ID: article.IDFor("https://news.example/plain"), URL: "https://news.example/plain", Title: "Belarus opens a border crossing",
		Published: &pub, Source: "Example Wire", FeedURL: "https://news.example/rss", Summary: "Belarus said on Monday it would open the crossing."}
	hostile = "<script>alert(1)</script> Belarus & \"friends\" \x01\x08 ]]> end"
	bad := article.Article{ID: article.IDFor("https://news.example/bad?a=1&b=2"), URL: "https://news.example/bad?a=1&b=2", Title: hostile,
		Published: &pub, Source: "<b>Wire</b> & Co", Summary: "In Belarus: <img src=x onerror=alert(1)> & \x00\x1f more ]]>"}
	storeArticle(t, s, plain)
	storeArticle(t, s, bad)
	for _, a := range []article.Article{plain, bad} {
		if _, _, err := delivery.EnqueueBatch(ctx, s.st, a.ID, []delivery.Alert{{Sub: sub.ID, ChatID: 42, Article: a.ID, Topic: "belarus"}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	secret, err := delivery.FeedSecret(ctx, s.subs, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	return s, delivery.FeedURL(s.base, sub.ID, secret), hostile
}

func fetchFeed(t *testing.T, u, etag string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestSubscriberFeedIsValidAtom(t *testing.T) {
	_, u, hostile := feedSite(t)
	resp, body := fetchFeed(t, u, "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/atom+xml") {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, raw := range []string{"<script>", "<img", "<b>Wire", "\x01", "\x00", "\x1f"} {
		if strings.Contains(string(body), raw) {
			t.Errorf("the document holds %q unescaped", raw)
		}
	}

	// The elements RFC 4287 requires, read with a strict decoder.
	var doc struct {
		XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
		ID      string   `xml:"id"`
		Title   string   `xml:"title"`
		Updated string   `xml:"updated"`
		Author  []string `xml:"author>name"`
		Entries []struct {
			ID      string `xml:"id"`
			Title   string `xml:"title"`
			Updated string `xml:"updated"`
			Summary string `xml:"summary"`
			Links   []struct {
				Rel  string `xml:"rel,attr"`
				Href string `xml:"href,attr"`
			} `xml:"link"`
		} `xml:"entry"`
	}
	dec := xml.NewDecoder(strings.NewReader(string(body)))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("not well-formed XML: %v\n%s", err, body)
	}
	if doc.ID == "" || doc.Title == "" || len(doc.Author) == 0 {
		t.Errorf("feed id %q, title %q, author %q", doc.ID, doc.Title, doc.Author)
	}
	if _, err := time.Parse(time.RFC3339, doc.Updated); err != nil {
		t.Errorf("feed updated %q: %v", doc.Updated, err)
	}
	if len(doc.Entries) != 2 {
		t.Fatalf("%d entries, want 2", len(doc.Entries))
	}
	ids := map[string]bool{}
	for _, e := range doc.Entries {
		if e.ID == "" || ids[e.ID] || e.Title == "" {
			t.Errorf("entry id %q title %q", e.ID, e.Title)
		}
		ids[e.ID] = true
		if _, err := time.Parse(time.RFC3339, e.Updated); err != nil {
			t.Errorf("entry updated %q: %v", e.Updated, err)
		}
		if len(e.Links) == 0 || e.Links[0].Rel != "alternate" || !strings.HasPrefix(e.Links[0].Href, "https://news.example/") {
			t.Errorf("entry links %+v", e.Links)
		}
		if !strings.Contains(e.Summary, "<b>Belarus</b>") {
			t.Errorf("summary %q does not mark the matched word", e.Summary)
		}
	}
	// Newest first: the hostile article was queued last.
	if got := doc.Entries[0].Title; !strings.HasPrefix(got, "<script>alert(1)</script> Belarus & \"friends\"") || !strings.HasSuffix(got, "]]> end") {
		t.Errorf("hostile title read back as %q", got)
	}
	if s := doc.Entries[0].Summary; strings.Contains(s, "<img") {
		t.Errorf("the summary's HTML carries the article's markup: %q", s)
	}

	// The project's own parser.
	f, err := feed.Parse(body, u, resp.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("feed.Parse: %v", err)
	}
	// It reads titles as plain text and drops the script element whole.
	if len(f.Items) != 2 || f.Items[0].URL != "https://news.example/bad?a=1&b=2" || f.Items[0].Title != `Belarus & "friends" ]]> end` {
		t.Fatalf("feed.Parse read %d items: %+v", len(f.Items), f.Items)
	}
	if f.Items[1].Title != "Belarus opens a border crossing" || !strings.Contains(f.Items[1].Summary, "Belarus said on Monday") {
		t.Errorf("feed.Parse second item %+v", f.Items[1])
	}

	// gofeed, as feed readers in Go read it.
	g, err := gofeed.NewParser().ParseString(string(body))
	if err != nil {
		t.Fatalf("gofeed: %v", err)
	}
	if g.FeedType != "atom" || g.FeedVersion != "1.0" || len(g.Items) != 2 {
		t.Fatalf("gofeed read %s %s with %d items", g.FeedType, g.FeedVersion, len(g.Items))
	}
	if g.Items[0].Link != "https://news.example/bad?a=1&b=2" || g.Items[0].UpdatedParsed == nil || g.Items[1].PublishedParsed == nil {
		t.Errorf("gofeed item %+v", g.Items[0])
	}
	if strings.ContainsAny(g.Items[0].Title, "\x01\x08") {
		t.Errorf("control characters survived into the title %q", g.Items[0].Title)
	}
	if !strings.HasPrefix(g.Items[0].Title, "<script>alert(1)</script>") {
		t.Errorf("gofeed title %q, the article's was %q", g.Items[0].Title, hostile)
	}
}

func TestSubscriberFeedAnswersConditionalGets(t *testing.T) {
	s, u, _ := feedSite(t)
	resp, body := fetchFeed(t, u, "")
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || etag == "" || !strings.Contains(resp.Header.Get("Cache-Control"), "private") {
		t.Fatalf("status %d, ETag %q, Cache-Control %q", resp.StatusCode, etag, resp.Header.Get("Cache-Control"))
	}
	if resp, b := fetchFeed(t, u, etag); resp.StatusCode != http.StatusNotModified || len(b) != 0 || resp.Header.Get("ETag") != etag {
		t.Fatalf("same ETag: status %d, %d bytes", resp.StatusCode, len(b))
	}
	if resp, _ := fetchFeed(t, u, `"other", W/`+etag); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("weak ETag in a list: status %d", resp.StatusCode)
	}
	// A new match changes the document, so the old ETag gets it in full.
	ctx := context.Background()
	a := article.Article{ID: article.IDFor("https://news.example/new"), URL: "https://news.example/new", Title: "Belarus again"}
	storeArticle(t, s, a)
	if _, _, err := delivery.EnqueueBatch(ctx, s.st, a.ID, []delivery.Alert{{Sub: "tg:42", ChatID: 42, Article: a.ID, Topic: "belarus"}}, nil); err != nil {
		t.Fatal(err)
	}
	resp2, body2 := fetchFeed(t, u, etag)
	if resp2.StatusCode != 200 || resp2.Header.Get("ETag") == etag || len(body2) <= len(body) {
		t.Fatalf("after a new match: status %d, ETag %q", resp2.StatusCode, resp2.Header.Get("ETag"))
	}
}

func TestSubscriberFeedNeedsItsSecret(t *testing.T) {
	s, u, _ := feedSite(t)
	ctx := context.Background()
	secret := u[strings.LastIndexByte(u, '/')+1:]
	for _, bad := range []string{
		s.base + delivery.FeedPath("tg:42", secret[:len(secret)-1]),
		s.base + delivery.FeedPath("tg:42", ""),
		s.base + delivery.FeedPath("tg:43", secret),
	} {
		if resp, _ := fetchFeed(t, bad, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d", bad, resp.StatusCode)
		}
	}
	if resp, _ := fetchFeed(t, u, ""); resp.StatusCode != 200 {
		t.Fatalf("the right secret: status %d", resp.StatusCode)
	}
	fresh, err := delivery.RotateFeedSecret(ctx, s.subs, "tg:42")
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := fetchFeed(t, u, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the rotated-out URL: status %d", resp.StatusCode)
	}
	if resp, _ := fetchFeed(t, delivery.FeedURL(s.base, "tg:42", fresh), ""); resp.StatusCode != 200 {
		t.Errorf("the new URL: status %d", resp.StatusCode)
	}
}

func TestManagePageLinksTheReadersFeed(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	reader := &subscriptions.Subscriber{ID: "mail:feed", Kind: subscriptions.KindEmail, Email: "feed@example.org",
		Status: subscriptions.StatusActive, Topics: []string{"belarus"}, Frequency: "daily", TZ: "UTC"}
	if err := s.subs.Put(ctx, reader); err != nil {
		t.Fatal(err)
	}
	s.publish(t, "minsk", "Belarus and its neighbours", "Belarus talks.")
	tok := token.Sign([]byte("web-test-secret"), token.Manage, reader.ID, s.clock.Now().Add(time.Hour))
	code, page := s.get(t, s.base+"/manage?token="+url.QueryEscape(tok))
	if code != 200 {
		t.Fatalf("manage page: %d", code)
	}
	m := regexp.MustCompile(`<a href="(` + regexp.QuoteMeta(s.base) + `/feed/[^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no feed link on the manage page:\n%s", page)
	}
	secret, err := delivery.FeedSecret(ctx, s.subs, reader.ID)
	if err != nil || html.UnescapeString(m[1]) != delivery.FeedURL(s.base, reader.ID, secret) {
		t.Fatalf("link %q, the reader's feed is %q (%v)", m[1], delivery.FeedURL(s.base, reader.ID, secret), err)
	}
	resp, body := fetchFeed(t, html.UnescapeString(m[1]), "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Belarus and its neighbours") {
		t.Fatalf("the linked feed: %d\n%s", resp.StatusCode, body)
	}
}
