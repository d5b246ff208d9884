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

// TestCheckAndConfirmedPages: the "check your inbox" page names the
// address (escaped, even the honeypot's), and the confirmed page says
// what comes and when the first digest does, in the reader's zone.
func TestCheckAndConfirmedPages(t *testing.T) {
	s := newSite(t)
	vilnius, _ := time.LoadLocation("Europe/Vilnius")
	s.clock.Set(time.Date(2030, 3, 11, 14, 0, 0, 0, vilnius)) // a Monday
	_, page := s.get(t, s.base+"/")
	form := hidden(t, page)
	code, page := s.post(t, s.base+"/subscribe", url.Values{"form": {form}, "email": {"reader@example.org"},
		"topics": {"belarus\nmuseum*"}, "frequency": {"daily"}, "hour": {"7"}, "tz": {"Europe/Vilnius"}})
	if code != 200 {
		t.Fatalf("POST /subscribe = %d:\n%s", code, page)
	}
	contains(t, "check page", page, "<strong>reader@example.org</strong>")
	// A bot filling the honeypot sees the same page, its input escaped.
	_, page = s.post(t, s.base+"/subscribe", url.Values{"form": {form}, "email": {`<img src=x onerror=alert(1)>@x.org`},
		"topics": {"belarus"}, "website": {"http://spam"}})
	contains(t, "honeypot check page", page, "<strong>&lt;img src=x onerror=alert(1)&gt;@x.org</strong>")
	if strings.Contains(page, "<img") {
		t.Errorf("the check page carries the posted markup:\n%s", page)
	}

	link := s.smtp.WaitMessagesTo(5*time.Second, "reader@example.org", 1)[0].Link(s.base + "/confirm?token=")
	code, page = s.confirm(t, link)
	if code != 200 {
		t.Fatalf("confirm = %d:\n%s", code, page)
	}
	contains(t, "confirmed page", page, "<code>belarus</code>", "<code>museum*</code>",
		"<dt>How often</dt><dd>Once a day</dd>", "<dt>At</dt><dd>07:00</dd>", "<dt>Time zone</dt><dd>Europe/Vilnius</dd>",
		"<dd>Tuesday 12 March at 07:00 (Europe/Vilnius time), if something new matches by then</dd>")

	// The link opened again the next morning, before the hour: that day's.
	s.clock.Set(time.Date(2030, 3, 12, 6, 0, 0, 0, vilnius))
	_, page = s.get(t, link)
	contains(t, "confirmed page, again", page, "<dd>Tuesday 12 March at 07:00 (Europe/Vilnius time)")
}

// TestConfirmedInstant: an instant reader is told no hour, and that
// alerts come as news does.
func TestConfirmedInstant(t *testing.T) {
	s := newSite(t)
	_, page := s.get(t, s.base+"/")
	s.post(t, s.base+"/subscribe", url.Values{"form": {hidden(t, page)}, "email": {"fast@example.org"},
		"topics": {"belarus"}, "frequency": {"instant"}, "hour": {"7"}, "tz": {"Asia/Tokyo"}})
	link := s.smtp.WaitMessagesTo(5*time.Second, "fast@example.org", 1)[0].Link(s.base + "/confirm?token=")
	_, page = s.confirm(t, link)
	contains(t, "confirmed page", page, "<dd>As it happens</dd>", "<dd>Asia/Tokyo</dd>", "<dt>First alert</dt><dd>Within minutes of a matching article")
	if strings.Contains(page, "<dt>At</dt>") {
		t.Errorf("an instant reader is shown an hour:\n%s", page)
	}
}

// TestManageInstantAndUnsubscribe: the hour sits where the page's style
// hides it "as it happens", the server ignores it then (even a bad one),
// and the page's Unsubscribe stops digests and can be undone.
func TestManageInstantAndUnsubscribe(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	s.subs.Put(ctx, &subscriptions.Subscriber{ID: "mail:inst", Kind: subscriptions.KindEmail, Email: "inst@example.org",
		Status: subscriptions.StatusActive, Topics: []string{"belarus"}, Frequency: "daily", Hour: 19, TZ: "UTC"})
	manage := s.m.Link("/manage", "manage", "mail:inst", time.Hour)
	_, page := s.get(t, manage)
	contains(t, "manage page", page, `form:has(input[name=frequency][value=instant]:checked) .hour-field{display:none}`,
		`<div class="hour-field"><label for="hour">`, `<button type="submit" name="action" value="unsubscribe" class="danger">Unsubscribe</button>`)
	csrf := hidden(t, page)
	code, page := s.post(t, manage, url.Values{"csrf": {csrf}, "action": {"save"}, "topics": {"belarus"}, "frequency": {"instant"},
		"hour": {"99"}, "tz": {"UTC"}})
	if code != 200 || !strings.Contains(page, "Saved.") {
		t.Fatalf("save instant with a hidden bad hour = %d:\n%s", code, page)
	}
	if got, _ := s.subs.Get(ctx, "mail:inst"); got.Frequency != "instant" || got.Hour != 19 {
		t.Fatalf("after saving instant: frequency %q hour %d; want instant, the old 19", got.Frequency, got.Hour)
	}
	// Back to daily, the bad hour counts again.
	if code, _ := s.post(t, manage, url.Values{"csrf": {csrf}, "action": {"save"}, "topics": {"belarus"}, "frequency": {"daily"},
		"hour": {"99"}, "tz": {"UTC"}}); code != 400 {
		t.Errorf("daily with hour 99 = %d, want 400", code)
	}

	code, page = s.post(t, manage, url.Values{"csrf": {csrf}, "action": {"unsubscribe"}})
	if code != 200 {
		t.Fatalf("unsubscribe = %d:\n%s", code, page)
	}
	contains(t, "manage page after unsubscribing", page, "Unsubscribed: no more digests", " · unsubscribed", `value="resume"`)
	if strings.Contains(page, `value="unsubscribe"`) {
		t.Errorf("an unsubscribed reader is offered Unsubscribe again")
	}
	if got, _ := s.subs.Get(ctx, "mail:inst"); got.Status != subscriptions.StatusUnsubscribed {
		t.Fatalf("status after unsubscribing = %s", got.Status)
	}
	if code, _ := s.post(t, manage, url.Values{"action": {"unsubscribe"}}); code != 403 {
		t.Errorf("unsubscribe without the page's token = %d, want 403", code)
	}
	s.post(t, manage, url.Values{"csrf": {csrf}, "action": {"resume"}})
	if got, _ := s.subs.Get(ctx, "mail:inst"); got.Status != subscriptions.StatusActive {
		t.Fatalf("status after resuming = %s", got.Status)
	}
}
