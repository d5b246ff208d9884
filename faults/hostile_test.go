//go:build faults

package faults

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/mailer/smtptest"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/token"
	"github.com/herald-news/herald/watcher"
)

const rssHead = `<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Hostile</title><link>http://example.org/</link>`

// hostileSite serves feeds that attack the fetcher and the parser.
func hostileSite(t *testing.T) *httptest.Server {
	// 100 MiB of zeros, gzipped to about 100 KiB.
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zero := make([]byte, 1<<20)
	zw.Write([]byte(rssHead + "<item><title>"))
	for range 100 {
		zw.Write(zero)
	}
	zw.Close()
	laughs := `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title><link>http://example.org/lol</link><description>&lol9;</description></item></channel></rss>`
	mux := http.NewServeMux()
	mux.HandleFunc("/laughs.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		io.WriteString(w, laughs)
	})
	mux.HandleFunc("/bomb.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(bomb.Bytes())
	})
	mux.HandleFunc("/huge.xml", func(w http.ResponseWriter, r *http.Request) {
		// 50 MiB, streamed without a length.
		w.Header().Set("Content-Type", "application/rss+xml")
		io.WriteString(w, rssHead+"<item><title>huge</title><link>http://example.org/huge</link><description>")
		chunk := bytes.Repeat([]byte("a"), 64<<10)
		for range 50 << 20 / len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		io.WriteString(w, "</description></item></channel></rss>")
	})
	mux.HandleFunc("/trickle.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		w.WriteHeader(http.StatusOK)
		fl := w.(http.Flusher)
		for i := 0; i < 90; i++ {
			if _, err := w.Write([]byte{rssHead[i%len(rssHead)]}); err != nil {
				return
			}
			fl.Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(time.Second):
			}
		}
	})
	mux.HandleFunc("/loop-a.xml", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop-b.xml", http.StatusFound) })
	mux.HandleFunc("/loop-b.xml", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop-a.xml", http.StatusFound) })
	mux.HandleFunc("/garbage.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write([]byte("<rss><channel><item><title>\x00\xff\xfe<<<&&&;;]]>"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestHostileFeeds points a watcher at feeds that expand entities, bomb
// gzip, run to 50 MiB, trickle a byte a second and redirect in a loop,
// next to a good feed whose titles carry HTML and Telegram markup: the
// process stays up and small, every bad feed is recorded as failing, and
// the good one's alert arrives with the markup shown as text.
func TestHostileFeeds(t *testing.T) {
	needRedis(t)
	rd := startRedis(t)
	st := rd.Store(t)
	tg := telegramtest.New(t, telegramtest.WithLimits(noisyLimits))
	tg.AddChat(telegramtest.Chat{ID: 4242, Type: telegramtest.Private, FirstName: "Ana"})
	seed(t, st, "wildfire", 4242, 1, 0)
	site := newNewsSite(t)
	bad := hostileSite(t)
	names := []string{"laughs", "bomb", "huge", "trickle", "loop-a", "garbage"}
	feeds := []string{site.FeedURL()}
	for _, n := range names {
		feeds = append(feeds, bad.URL+"/"+n+".xml")
	}
	h := newHerald(t, "all", "watcher,matcher,telegram", world{Redis: rd.URL(), TG: tg, Feeds: feeds})
	h.Start()
	feedFetched(t, st, site.FeedURL())

	title := `Wildfire <b>near</b> & <a href="tg://resolve?domain=evil">town</a> <script>alert(1)</script> *bold* _it_ [x](http://evil.example)`
	site.Publish("markup", title, storyText("wildfire", 400))

	ctx := context.Background()
	peak := int64(0)
	failing := func(name string) (int, string) {
		m, _ := st.Redis.HGetAll(ctx, st.Key("feed", watcher.FeedID(bad.URL+"/"+name+".xml"))).Result()
		n, _ := strconv.Atoi(m["errors"])
		return n, m["last_error"]
	}
	// The trickle takes the fetch timeout (30 s) to fail.
	ok := eventually(60*time.Second, func() bool {
		peak = max(peak, rss(h.Pid()))
		for _, n := range names {
			if n == "laughs" {
				continue // may parse to nothing rather than fail
			}
			if e, _ := failing(n); e == 0 {
				return false
			}
		}
		return true
	})
	for _, n := range names {
		e, why := failing(n)
		t.Logf("%-8s errors=%d last_error=%q", n, e, why)
		if e == 0 && n != "laughs" {
			t.Errorf("feed %s is not recorded as failing", n)
		}
	}
	if !ok {
		t.Errorf("hostile feeds not all recorded as failing within 60s")
	}
	if !h.Running() || h.get("/healthz") != http.StatusOK {
		t.Fatalf("herald did not survive hostile feeds:\n%s", h.tail(30))
	}
	if strings.Contains(h.logText(), "panic") {
		t.Errorf("a panic was logged:\n%s", h.tail(30))
	}
	t.Logf("herald resident memory peaked at %d MiB", peak>>20)
	if peak > 400<<20 {
		t.Errorf("herald grew to %d MiB on hostile feeds", peak>>20)
	}

	// The good feed's alert: markup escaped, shown as the user wrote it.
	msgs := tg.WaitSentTo(30*time.Second, 4242, 1)
	alert := msgs[len(msgs)-1]
	for _, bad := range []string{"<script", "<b>near</b>", `href="tg://`, "javascript:"} {
		if strings.Contains(alert.Text, bad) {
			t.Errorf("markup from a feed reached the alert: %q in\n%s", bad, alert.Text)
		}
	}
	if !strings.Contains(alert.Plain, "Wildfire") || !strings.Contains(alert.Plain, "*bold* _it_") {
		t.Errorf("the title is not shown as text: %q", alert.Plain)
	}
	for _, e := range alert.Entities {
		if e.URL != "" && !strings.HasPrefix(e.URL, site.URL) {
			t.Errorf("alert links to %q", e.URL)
		}
	}
	report.add(reportRow{Scenario: "hostile feeds", Expected: 1, Delivered: len(msgs), Note: fmt.Sprintf("6 hostile feeds failed cleanly; RSS peak %d MiB", peak>>20)})
}

// TestPrivateAddresses: with private feeds off, no URL that resolves to a
// loopback, private, link-local or metadata address is fetched.
func TestPrivateAddresses(t *testing.T) {
	needRedis(t)
	rd := startRedis(t)
	st := rd.Store(t)
	var hits atomic.Int64
	decoy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, rssHead+"</channel></rss>")
	}))
	t.Cleanup(decoy.Close)
	port := decoy.URL[strings.LastIndexByte(decoy.URL, ':')+1:]
	urls := []string{
		"http://127.0.0.1:" + port + "/feed.xml",
		"http://localhost:" + port + "/feed.xml",
		"http://[::1]:" + port + "/feed.xml",
		"http://[::ffff:127.0.0.1]:" + port + "/feed.xml",
		"http://0.0.0.0:" + port + "/feed.xml",
		"http://2130706433:" + port + "/feed.xml", // 127.0.0.1 as one number
		"http://10.20.30.40/feed.xml",
		"http://192.168.1.1/feed.xml",
		"http://169.254.169.254/latest/meta-data/",
		"http://[fd00::1]/feed.xml",
	}
	h := newHerald(t, "watcher", "watcher", world{Redis: rd.URL(), Feeds: urls, Extra: []string{"HERALD_ALLOW_PRIVATE_FEEDS=false"}})
	h.Start()
	ctx := context.Background()
	recorded := func(u string) bool {
		m, _ := st.Redis.HGetAll(ctx, st.Key("feed", watcher.FeedID(u))).Result()
		return len(m) == 0 || m["errors"] != "" && m["errors"] != "0"
	}
	eventually(20*time.Second, func() bool {
		for _, u := range urls {
			if !recorded(u) {
				return false
			}
		}
		return true
	})
	for _, u := range urls {
		m, _ := st.Redis.HGetAll(ctx, st.Key("feed", watcher.FeedID(u))).Result()
		switch {
		case len(m) == 0:
			t.Logf("%-48s refused when added", u)
		case m["errors"] == "" || m["errors"] == "0":
			t.Errorf("%s: not recorded as refused: %v", u, m)
		default:
			t.Logf("%-48s refused: %s", u, m["last_error"])
		}
	}
	if n := hits.Load(); n > 0 {
		t.Errorf("the loopback server was fetched %d times with private feeds off", n)
	}
	// The command line refuses them too.
	for _, u := range urls[:2] {
		out, code := h.Command(20*time.Second, "parse", u)
		if code == 0 {
			t.Errorf("herald parse %s succeeded with private feeds off:\n%s", u, out)
		}
	}
	if n := hits.Load(); n > 0 {
		t.Errorf("herald parse fetched a loopback address (%d requests)", n)
	}
	report.add(reportRow{Scenario: "private addresses", Expected: 0, Note: fmt.Sprintf("%d private URLs, %d requests reached the loopback server", len(urls), hits.Load())})
}

var formField = regexp.MustCompile(`name="form" value="([^"]+)"`)

// TestHostileUsers attacks the web page and the bot: header injection in
// the sign-up form, forged and expired tokens, admin commands from others,
// and queries built to be slow.
func TestHostileUsers(t *testing.T) {
	needRedis(t)
	rd := startRedis(t)
	st := rd.Store(t)
	tg := telegramtest.New(t, telegramtest.WithLimits(telegramtest.NoLimits), telegramtest.WithLenientAmpersand())
	mail := smtptest.New(t)
	site := newNewsSite(t)
	_, emails := seed(t, st, "harbour", 1, 0, 1)
	const admin, stranger = 777, 888
	tg.AddChat(telegramtest.Chat{ID: admin, Type: telegramtest.Private, FirstName: "Admin"})
	tg.AddChat(telegramtest.Chat{ID: stranger, Type: telegramtest.Private, FirstName: "Eve"})
	h := newHerald(t, "all", "all", world{Redis: rd.URL(), TG: tg, Mail: mail, Feeds: []string{site.FeedURL()},
		Extra: []string{"HERALD_TELEGRAM_ADMINS=777"}})
	h.Start()
	feedFetched(t, st, site.FeedURL())
	base := "http://" + h.Addr
	ctx := context.Background()
	// Cookies kept, as a browser keeps them: the sign-up form's token is
	// bound to one, so the refusals below are about the fields.
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, v url.Values) (int, time.Duration) {
		start := time.Now()
		resp, err := client.PostForm(base+path, v)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, time.Since(start)
	}
	get := func(path string) int {
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	form := func() string {
		resp, err := client.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := formField.FindStringSubmatch(string(page))
		if m == nil {
			t.Fatal("sign-up page has no form token")
		}
		return html.UnescapeString(m[1])
	}

	t.Run("crlf in email fields", func(t *testing.T) {
		for _, v := range []url.Values{
			{"email": {"eve@example.org\r\nBcc: victim@example.org"}, "topics": {"harbour"}, "frequency": {"daily"}, "hour": {"8"}, "tz": {"UTC"}},
			{"email": {"eve@example.org\nBcc: victim@example.org"}, "topics": {"harbour"}, "frequency": {"daily"}, "hour": {"8"}, "tz": {"UTC"}},
			{"email": {"eve2@example.org"}, "topics": {"harbour"}, "frequency": {"daily"}, "hour": {"8"}, "tz": {"UTC\r\nX-Injected: 1"}},
			{"email": {"eve3@example.org"}, "topics": {"harbour"}, "frequency": {"daily\r\nBcc: victim@example.org"}, "hour": {"8"}, "tz": {"UTC"}},
		} {
			v.Set("form", form())
			code, _ := post("/subscribe", v)
			if code < 400 || code >= 500 {
				t.Errorf("sign-up with %q: status %d, want 4xx", v, code)
			}
		}
		time.Sleep(2 * time.Second)
		for _, m := range mail.Messages() {
			if bytes.Contains(m.Data, []byte("X-Injected")) || bytes.Contains(bytes.ToLower(m.Data), []byte("bcc:")) {
				t.Errorf("an injected header reached a message to %v", m.To)
			}
			for _, to := range m.To {
				if strings.Contains(to, "victim") {
					t.Errorf("mail went to %s", to)
				}
			}
		}
	})

	t.Run("forged and expired tokens", func(t *testing.T) {
		sub := "mail:r0"
		other := []byte("another-secret-altogether-0123456789")
		forged := map[string]string{
			"garbage":       "not-a-token",
			"other secret":  token.Sign(other, token.Unsubscribe, sub, time.Now().Add(time.Hour)),
			"expired":       token.Sign([]byte(secret), token.Unsubscribe, sub, time.Now().Add(-time.Minute)),
			"wrong purpose": token.Sign([]byte(secret), token.Form, sub, time.Now().Add(time.Hour)),
			"tampered":      tamper(token.Sign([]byte(secret), token.Unsubscribe, sub, time.Now().Add(time.Hour))),
		}
		for name, tok := range forged {
			q := "?token=" + url.QueryEscape(tok)
			for _, path := range []string{"/confirm", "/manage", "/unsubscribe"} {
				if code := get(path + q); code < 400 || code >= 500 {
					t.Errorf("%s token: GET %s = %d, want 4xx", name, path, code)
				}
			}
			if code, _ := post("/unsubscribe"+q, url.Values{"List-Unsubscribe": {"One-Click"}}); code < 400 || code >= 500 {
				t.Errorf("%s token: POST /unsubscribe = %d, want 4xx", name, code)
			}
		}
		s, err := subscriptions.NewStore(st).Get(ctx, sub)
		if err != nil || s.Status != subscriptions.StatusActive {
			t.Errorf("after forged unsubscribes the reader is %v (%v); want active", s, err)
		}
		// The real token works, so the refusals above were about the tokens.
		good := token.Sign([]byte(secret), token.Unsubscribe, sub, time.Now().Add(time.Hour))
		if code, _ := post("/unsubscribe?token="+url.QueryEscape(good), url.Values{"List-Unsubscribe": {"One-Click"}}); code >= 300 {
			t.Errorf("a valid one-click unsubscribe = %d", code)
		}
		_ = emails
	})

	t.Run("admin commands from others", func(t *testing.T) {
		before, _ := st.Redis.ZCard(ctx, st.Key("feeds", "due")).Result()
		for i, cmd := range []string{"/addfeed http://example.org/evil.xml", "/removefeed " + site.FeedURL(), "/feeds", "/stats"} {
			tg.SendText(stranger, stranger, cmd)
			msgs := tg.WaitSentTo(10*time.Second, stranger, i+1)
			if strings.Contains(msgs[i].Plain, site.URL) {
				t.Errorf("%s from a non-admin showed the feeds: %q", cmd, msgs[i].Plain)
			}
		}
		after, _ := st.Redis.ZCard(ctx, st.Key("feeds", "due")).Result()
		if after != before {
			t.Errorf("feeds changed from %d to %d by a non-admin", before, after)
		}
		tg.SendText(admin, admin, "/feeds")
		if m := tg.WaitSentTo(10*time.Second, admin, 1)[0]; !strings.Contains(m.Plain, "127.0.0.1") {
			t.Errorf("the admin's /feeds does not list the feed: %q", m.Plain)
		}
	})

	t.Run("slow queries refused quickly", func(t *testing.T) {
		long := strings.Repeat("word ", 2000)                                     // 10,000 characters
		deep := strings.Repeat("(", 1000) + "belarus" + strings.Repeat(")", 1000) // nested 1,000 deep
		ors := strings.Repeat("a OR ", 2000) + "b"
		for i, q := range []string{long, deep, ors} {
			start := time.Now()
			tg.SendText(stranger, stranger, "/sub "+q)
			msgs := tg.WaitSentTo(10*time.Second, stranger, 5+i)
			took := time.Since(start)
			t.Logf("query %d (%d chars) refused in %s: %.80q", i, len(q), took.Round(time.Millisecond), msgs[len(msgs)-1].Plain)
			if took > 2*time.Second {
				t.Errorf("query %d took %s to refuse", i, took)
			}
			out, code := h.Command(10*time.Second, "query", "check", q)
			if code != 2 {
				t.Errorf("herald query check of query %d: exit %d, want 2: %s", i, code, lastLine(out))
			}
			v := url.Values{"form": {form()}, "email": {fmt.Sprintf("q%d@example.org", i)}, "topics": {q}, "frequency": {"daily"}, "hour": {"8"}, "tz": {"UTC"}}
			if code, took := post("/subscribe", v); code < 400 || code >= 500 || took > 2*time.Second {
				t.Errorf("sign-up with query %d: %d in %s, want 4xx quickly", i, code, took)
			}
		}
		if s, err := subscriptions.NewStore(st).Get(ctx, subscriptions.TelegramID(stranger)); err == nil && len(s.Topics) > 0 {
			t.Errorf("a hostile query was stored: %.80q", s.Topics)
		}
	})
	report.add(reportRow{Scenario: "hostile users", Note: "CRLF, forged/expired tokens, non-admin commands, 10k-char and 1000-deep queries refused"})
	var _ *store.Store
}

// tamper flips one character in the middle of a token.
func tamper(tok string) string {
	b := []byte(tok)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
