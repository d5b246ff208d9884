package service_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/config"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/mailer/smtptest"
	"github.com/herald-news/herald/service"
	"github.com/herald-news/herald/store/storetest"
)

// feedServer is a news site whose RSS feed the test adds items to.
type feedServer struct {
	*httptest.Server
	mu    sync.Mutex
	items []feedItem
}

type feedItem struct {
	Title   string `xml:"title"`
	Link    string `xml:"link"`
	GUID    string `xml:"guid"`
	PubDate string `xml:"pubDate"`
	Desc    string `xml:"description"`
	Content string `xml:"http://purl.org/rss/1.0/modules/content/ encoded,omitempty"`
}

func newFeedServer(t *testing.T) *feedServer {
	f := &feedServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		items := append([]feedItem(nil), f.items...)
		f.mu.Unlock()
		type channel struct {
			Title string     `xml:"title"`
			Link  string     `xml:"link"`
			Items []feedItem `xml:"item"`
		}
		type rss struct {
			XMLName xml.Name `xml:"rss"`
			Version string   `xml:"version,attr"`
			Channel channel  `xml:"channel"`
		}
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		io.WriteString(w, xml.Header)
		xml.NewEncoder(w).Encode(rss{Version: "2.0", Channel: channel{Title: "Test Wire", Link: f.URL + "/", Items: items}})
	}))
	t.Cleanup(f.Close)
	return f
}

// publish puts an item at the top of the feed and returns when it did.
func (f *feedServer) publish(slug, title, text string) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	link := f.URL + "/news/" + slug
	desc := text
	if len(desc) > 200 {
		desc = desc[:200]
	}
	f.items = append([]feedItem{{Title: title, Link: link, GUID: link, PubDate: now.UTC().Format(time.RFC1123Z), Desc: desc, Content: text}}, f.items...)
	return now
}

type harness struct {
	svc  *service.Service
	tg   *telegramtest.Server
	mail *smtptest.Server
	feed *feedServer
	base string
}

func start(t *testing.T) *harness {
	t.Helper()
	return startWith(t, nil)
}

// startWith starts herald with the harness's configuration, changed by
// adjust when given.
func startWith(t *testing.T, adjust func(*config.Config)) *harness {
	t.Helper()
	h := &harness{tg: telegramtest.New(t), mail: smtptest.New(t), feed: newFeedServer(t)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.base = "http://" + l.Addr().String()
	st := storetest.New(t)
	cfg := config.Defaults()
	cfg.RedisURL = storetest.URL()
	cfg.KeyPrefix = st.Prefix
	cfg.HTTPAddr = l.Addr().String()
	cfg.PublicURL = h.base
	cfg.Secret = "end-to-end-test-secret"
	cfg.TelegramToken = h.tg.Token
	cfg.TelegramAPIURL = h.tg.URL
	cfg.SMTPURL = h.mail.URL()
	cfg.MailFrom = "Herald <news@herald.test>"
	cfg.PollInterval = time.Second
	cfg.AllowPrivateFeeds = true
	cfg.Feeds = []string{h.feed.URL + "/feed.xml"}
	if adjust != nil {
		adjust(&cfg)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h.svc, err = service.New(service.Options{Config: cfg, Store: st, Listener: l, Log: log, DigestTick: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("service did not stop within 10s")
		}
	})
	return h
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// seedArticle reads the seed article's title and text, or skips.
func seedArticle(t *testing.T) (title, text string) {
	b, err := os.ReadFile("../../shared/seed/article.txt")
	if err != nil {
		t.Skipf("seed article not available (../shared is absent in a plain clone): %v", err)
	}
	text = string(b)
	for _, line := range strings.Split(text, "\n") {
		if len(strings.Fields(line)) >= 5 && !strings.HasPrefix(line, "Last update") {
			return strings.TrimSpace(line), text
		}
	}
	t.Fatal("seed article has no title line")
	return
}

func TestEndToEnd(t *testing.T) {
	h := start(t)
	const chat = 4242
	h.tg.AddChat(telegramtest.Chat{ID: chat, Type: telegramtest.Private, FirstName: "Ana"})

	// A subscriber follows a topic through the bot.
	h.tg.SendText(chat, chat, "/sub belarus")
	reply := h.tg.WaitSentTo(10*time.Second, chat, 1)
	if !strings.Contains(reply[0].Plain, "Following") {
		t.Fatalf("reply to /sub = %q", reply[0].Plain)
	}
	// Let the watcher take the (empty) feed as known before news arrives.
	waitFor(t, 10*time.Second, "the feed's first fetch", func() bool {
		feeds, err := h.svc.Watcher.List(context.Background())
		return err == nil && len(feeds) == 1 && !feeds[0].LastFetch.IsZero()
	})

	// News that matches, with markup in its title, reaches the chat escaped.
	title := `Belarus & Iran agree: drone range < 5 km, "officials" say`
	published := h.feed.publish("belarus-pact", title, "Belarus and Iran signed an agreement on drones in Minsk on Monday. Officials said more talks would follow.")
	alerts := h.tg.WaitSentTo(15*time.Second, chat, 2)
	alert := alerts[1]
	latency := alert.Time.Sub(published)
	t.Logf("published→alert latency: %s", latency.Round(time.Millisecond))
	fmt.Fprintf(os.Stderr, "e2e: article published to Telegram alert received in %s\n", latency.Round(time.Millisecond))
	if alert.ParseMode != "HTML" {
		t.Errorf("alert parse mode = %q, want HTML", alert.ParseMode)
	}
	if !strings.Contains(alert.Text, html.EscapeString(title)) {
		t.Errorf("alert does not carry the escaped title:\n%s", alert.Text)
	}
	if strings.Contains(alert.Text, "< 5 km") {
		t.Errorf("markup from the article reached the message unescaped:\n%s", alert.Text)
	}
	if !strings.Contains(alert.Plain, title) {
		t.Errorf("the user does not see the title as written: %q", alert.Plain)
	}
	if !strings.Contains(alert.Text, `href="`+h.feed.URL+`/news/belarus-pact"`) {
		t.Errorf("alert does not link the article:\n%s", alert.Text)
	}
	if !strings.Contains(alert.Plain, "belarus") || !strings.Contains(alert.Plain, "Minsk") {
		t.Errorf("alert lacks the topic or the summary: %q", alert.Plain)
	}

	// News that matches nothing sends nothing.
	h.feed.publish("harbour-weather", "Harbour city expects a mild weekend", "Forecasters expect sunshine and light winds along the coast.")
	waitFor(t, 10*time.Second, "the second article to be seen", func() bool {
		feeds, _ := h.svc.Watcher.List(context.Background())
		return len(feeds) == 1 && feeds[0].Articles >= 2
	})
	// The positive signal: the matcher has read and acknowledged every
	// article, and after that the sender every alert queued, so a wrong
	// alert would have been sent by now.
	waitFor(t, 10*time.Second, "the matcher to finish with every article", func() bool {
		return h.queueIdle(t, "articles")
	})
	waitFor(t, 10*time.Second, "the sender to finish with every alert", func() bool {
		return h.queueIdle(t, "telegram")
	})
	if n := len(h.tg.SentTo(chat)); n != 2 {
		t.Fatalf("chat got %d messages, want 2 (an article matching nothing was sent?)", n)
	}

	// A reader signs up by email, confirms, and gets a digest.
	// A client with cookies, as a browser: the form's token is bound to one.
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	form := getFormToken(t, client, h.base)
	resp, err := client.PostForm(h.base+"/subscribe", url.Values{
		"form": {form}, "email": {"reader@example.org"}, "topics": {"belarus\nmuseum*"},
		"frequency": {"daily"}, "hour": {"8"}, "tz": {"Europe/Vilnius"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /subscribe = %d", resp.StatusCode)
	}
	confirmation := h.mail.WaitMessagesTo(10*time.Second, "reader@example.org", 1)[0]
	link := confirmation.Link(h.base + "/confirm?token=")
	if link == "" {
		t.Fatalf("no confirmation link in:\n%s", confirmation.Text)
	}
	// The link shows a page; its button confirms.
	resp, err = client.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := confirmRe.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("GET confirm link = %d, without its button:\n%s", resp.StatusCode, page)
	}
	resp, err = client.PostForm(h.base+"/confirm", url.Values{"token": {html.UnescapeString(string(m[1]))}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /confirm = %d", resp.StatusCode)
	}

	// The Telegram subscriber follows belarus too: that alert comes first.
	h.feed.publish("minsk-museum", "Minsk museum shows Belarus maps", "A museum in Minsk opened an exhibition of old maps of Belarus on Friday.")
	ctx := context.Background()
	waitFor(t, 15*time.Second, "the digest item to be queued", func() bool {
		ids, _ := delivery.Pending(ctx, h.svc.Store())
		return len(ids) == 1
	})
	n, err := h.svc.Mailer.SendDigests(ctx, true)
	if err != nil || n != 1 {
		t.Fatalf("SendDigests = %d, %v; want 1 digest", n, err)
	}
	msgs := h.mail.WaitMessagesTo(10*time.Second, "reader@example.org", 2)
	digest := msgs[1]
	if !strings.Contains(digest.Text, "Minsk museum shows Belarus maps") || !strings.Contains(digest.HTML, "Minsk museum shows Belarus maps") {
		t.Errorf("digest lacks the article in one of its parts:\ntext: %s\nhtml: %s", digest.Text, digest.HTML)
	}
	if strings.Contains(digest.Text, "Belarus &amp; Iran") || strings.Contains(digest.Text, "drone range") {
		t.Errorf("digest lists an article published before the reader confirmed")
	}
	if u := digest.HeaderValue("List-Unsubscribe"); !strings.HasPrefix(u, "<"+h.base+"/unsubscribe?token=") {
		t.Errorf("List-Unsubscribe = %q", u)
	}
	if digest.Link(h.base+"/unsubscribe?token=") == "" {
		t.Errorf("digest has no unsubscribe link")
	}
	// Nothing new: nothing sent.
	if n, _ := h.svc.Mailer.SendDigests(ctx, true); n != 0 {
		t.Errorf("a second digest went out with nothing new")
	}

	// The seed article, served as news, reaches the Belarus subscriber.
	seedTitle, seedText := seedArticle(t)
	h.feed.publish("seed", seedTitle, seedText)
	seedAlert := h.tg.WaitSentTo(15*time.Second, chat, 4)[3]
	if !strings.Contains(seedAlert.Plain, seedTitle) {
		t.Errorf("seed alert does not show its title %q:\n%s", seedTitle, seedAlert.Plain)
	}
}

// queueIdle reports whether /metrics shows the queue with nothing unread
// (herald_queue_lag) and nothing taken but unacknowledged
// (herald_queue_pending).
func (h *harness) queueIdle(t *testing.T, queue string) bool {
	t.Helper()
	resp, err := http.Get(h.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var lag, pending bool
	for _, line := range strings.Split(string(b), "\n") {
		switch line {
		case `herald_queue_lag{queue="` + queue + `"} 0`:
			lag = true
		case `herald_queue_pending{queue="` + queue + `"} 0`:
			pending = true
		}
	}
	return lag && pending
}

var (
	formRe    = regexp.MustCompile(`name="form" value="([^"]+)"`)
	confirmRe = regexp.MustCompile(`name="token" value="([^"]+)"`)
)

func getFormToken(t *testing.T, client *http.Client, base string) string {
	t.Helper()
	resp, err := client.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := formRe.FindSubmatch(b)
	if m == nil {
		t.Fatalf("sign-up page has no form token:\n%s", b)
	}
	return html.UnescapeString(string(m[1]))
}
