package web_test

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/subscriptions"
)

var titleRe = regexp.MustCompile(`<title>([^<]*)</title>`)

// TestPageTitles walks a reader's pages and checks that each has its own
// title, the description and the inline icon (no request for it).
func TestPageTitles(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	sub := &subscriptions.Subscriber{ID: "mail:titles", Kind: subscriptions.KindEmail, Email: "t@example.org",
		Status: subscriptions.StatusActive, Topics: []string{"belarus"}, Frequency: "daily", TZ: "UTC"}
	if err := s.subs.Put(ctx, sub); err != nil {
		t.Fatal(err)
	}
	pages := map[string]string{}
	add := func(name string, code int, page string, want int) {
		t.Helper()
		if code != want {
			t.Fatalf("%s = %d, want %d:\n%s", name, code, want, page)
		}
		contains(t, name, page, `<meta name="description" content="Herald emails you news`, `<link rel="icon" type="image/svg+xml" href="data:image/svg`)
		m := titleRe.FindStringSubmatch(page)
		if m == nil || !strings.HasSuffix(m[1], " — Herald") {
			t.Fatalf("%s: title %q", name, m)
		}
		for other, title := range pages {
			if title == m[1] {
				t.Errorf("%s and %s share the title %q", name, other, title)
			}
		}
		pages[name] = m[1]
	}
	code, page := s.get(t, s.base+"/")
	add("sign-up", code, page, 200)
	code, page = s.post(t, s.base+"/subscribe", url.Values{"form": {hidden(t, page)}, "email": {"new@example.org"}, "topics": {"belarus"}})
	add("check", code, page, 200)
	link := s.smtp.WaitMessagesTo(5*time.Second, "new@example.org", 1)[0].Link(s.base + "/confirm?token=")
	code, page = s.get(t, link)
	add("confirm", code, page, 200)
	code, page = s.confirm(t, link)
	add("confirmed", code, page, 200)
	code, page = s.get(t, s.m.Link("/manage", "manage", sub.ID, time.Hour))
	add("manage", code, page, 200)
	code, page = s.get(t, s.m.Link("/unsubscribe", "unsub", sub.ID, time.Hour))
	add("unsubscribe", code, page, 200)
	code, page = s.get(t, s.base+"/confirm?token=forged")
	add("bad link", code, page, 400)
	code, page = s.get(t, s.base+"/no/such/page")
	add("unknown path", code, page, 404)
	t.Logf("titles: %q", pages)
}

// TestNotFoundPage: an unknown path gets an HTML page with the site's
// name and a way home, status 404; the sign-up page is at / only.
func TestNotFoundPage(t *testing.T) {
	s := newSite(t)
	s.web.SiteName = "Daily <Wire>"
	for _, p := range []string{"/nothing", "/manage/nothing", "/favicon.png"} {
		resp, err := http.Get(s.base + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s = %d %s", p, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		contains(t, p, string(b), "<h1>Daily &lt;Wire&gt;</h1>", `<a href="/">`, "<title>Page not found — Daily &lt;Wire&gt;</title>")
	}
}

// TestGzip: pages and JSON go compressed to a client that asks, plain to
// one that does not, and both are told the answer varies.
func TestGzip(t *testing.T) {
	s := newSite(t)
	s.publish(t, "museum", "Minsk museum shows Belarus maps", "A museum in Minsk opened an exhibition of old maps of Belarus.")
	// A transport that leaves decompression to the test.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for _, c := range []struct {
		path, accept, ctype string
		gzipped             bool
		want                string
	}{
		{"/", "gzip, deflate, br", "text/html", true, "<h1>Herald</h1>"},
		{"/", "", "text/html", false, "<h1>Herald</h1>"},
		{"/", "gzip;q=0, deflate", "text/html", false, "<h1>Herald</h1>"},
		{"/nothing", "gzip", "text/html", true, "There is no page"},
		{"/preview?format=json&topics=belarus", "gzip", "application/json", true, `"Minsk museum shows Belarus maps"`},
		{"/healthz", "gzip", "text/plain", false, "ok"},
	} {
		req, _ := http.NewRequest("GET", s.base+c.path, nil)
		if c.accept != "" {
			req.Header.Set("Accept-Encoding", c.accept)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = resp.Body
		if got := resp.Header.Get("Content-Encoding") == "gzip"; got != c.gzipped {
			t.Errorf("GET %s (Accept-Encoding %q): gzipped %v, want %v", c.path, c.accept, got, c.gzipped)
		} else if got {
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatalf("GET %s: %v", c.path, err)
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("GET %s: reading: %v", c.path, err)
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype) || !strings.Contains(string(b), c.want) {
			t.Errorf("GET %s = %s %q", c.path, resp.Header.Get("Content-Type"), b)
		}
		if resp.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("GET %s: Vary %q", c.path, resp.Header.Get("Vary"))
		}
	}
}
