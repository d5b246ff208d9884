package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/subscriptions"
)

// TestEmailFlow is a reader's life against the real SMTP server: sign up,
// confirm, digests at their local hour, nothing when nothing is new,
// one-click unsubscribe.
func TestEmailFlow(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	vilnius, _ := time.LoadLocation("Europe/Vilnius")
	s.clock.Set(time.Date(2030, 3, 11, 14, 0, 0, 0, vilnius))

	code, page := s.get(t, s.base+"/")
	if code != 200 {
		t.Fatalf("GET / = %d", code)
	}
	form := hidden(t, page)
	code, page = s.post(t, s.base+"/subscribe", url.Values{"form": {form}, "email": {"reader@example.org"},
		"topics": {"belarus\nmuseum*"}, "frequency": {"daily"}, "hour": {"8"}, "tz": {"Europe/Vilnius"}})
	if code != 200 || !strings.Contains(page, "Check your inbox") {
		t.Fatalf("POST /subscribe = %d:\n%s", code, page)
	}
	confirmation := s.smtp.WaitMessagesTo(5*time.Second, "reader@example.org", 1)[0]
	link := confirmation.Link(s.base + "/confirm?token=")
	if link == "" {
		t.Fatalf("no confirmation link in:\n%s", confirmation.Text)
	}

	// Before the link is opened nothing is delivered.
	s.publish(t, "early", "Belarus border news", "Belarus closed a border crossing.")
	s.clock.Set(time.Date(2030, 3, 12, 8, 0, 0, 0, vilnius))
	if n, _ := s.m.SendDigests(ctx, false); n != 0 {
		t.Fatalf("a digest went to an unconfirmed reader")
	}

	code, page = s.confirm(t, link)
	if code != 200 || !strings.Contains(page, "subscribed") {
		t.Fatalf("confirm = %d:\n%s", code, page)
	}

	// Matched articles wait for 8:00 in Vilnius.
	s.clock.Set(time.Date(2030, 3, 12, 9, 30, 0, 0, vilnius))
	s.publish(t, "museum", "Minsk museum shows Belarus maps", "A museum in Minsk opened an exhibition of old maps of Belarus.")
	s.publish(t, "museums", "Museums of Europe reopen", "The museums reopened after renovation.")
	s.publish(t, "weather", "Harbour weather is mild", "Sunshine along the coast.")
	for _, at := range []time.Time{
		time.Date(2030, 3, 12, 9, 31, 0, 0, vilnius), // past today's hour and its grace
		time.Date(2030, 3, 13, 7, 59, 0, 0, vilnius), // a minute early
		time.Date(2030, 3, 13, 8, 0, 0, 0, time.UTC), // 8:00 UTC is 10:00 in Vilnius: too late
	} {
		s.clock.Set(at)
		if n, _ := s.m.SendDigests(ctx, false); n != 0 {
			t.Fatalf("digest sent at %s", at)
		}
	}
	s.clock.Set(time.Date(2030, 3, 13, 8, 0, 30, 0, vilnius))
	if n, err := s.m.SendDigests(ctx, false); n != 1 {
		t.Fatalf("SendDigests at 8:00 = %d, %v; want 1", n, err)
	}
	digest := s.smtp.WaitMessagesTo(5*time.Second, "reader@example.org", 2)[1]
	contains(t, "digest text", digest.Text, "Minsk museum shows Belarus maps", "Museums of Europe reopen", "== Belarus ==\n(belarus)", "== Museum… ==\n(museum*)", "Example Wire")
	contains(t, "digest HTML", digest.HTML, `href="https://news.example/museum"`, "Minsk museum shows Belarus maps")
	if strings.Contains(digest.Text, "Harbour weather") {
		t.Errorf("digest lists an article matching no topic")
	}
	unsub := digest.HeaderValue("List-Unsubscribe")
	if !strings.HasPrefix(unsub, "<"+s.base+"/unsubscribe?token=") {
		t.Errorf("List-Unsubscribe = %q", unsub)
	}
	for _, h := range []string{"List-Unsubscribe-Post", "Message-ID", "Date"} {
		if digest.HeaderValue(h) == "" {
			t.Errorf("digest has no %s header", h)
		}
	}
	if digest.HeaderValue("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q", digest.HeaderValue("List-Unsubscribe-Post"))
	}

	// Next day, nothing new: nothing sent.
	s.clock.Set(time.Date(2030, 3, 14, 8, 0, 0, 0, vilnius))
	if n, _ := s.m.SendDigests(ctx, false); n != 0 {
		t.Fatalf("a digest went out with nothing new")
	}
	// Something new after the hour (and its grace) waits for the next day.
	s.clock.Set(time.Date(2030, 3, 14, 9, 30, 0, 0, vilnius))
	s.publish(t, "belarus2", "Belarus and Iran sign a treaty", "Belarus and Iran signed a treaty.")
	if n, _ := s.m.SendDigests(ctx, false); n != 0 {
		t.Fatalf("a digest went out at 9:30")
	}
	s.clock.Set(time.Date(2030, 3, 15, 8, 0, 0, 0, vilnius))
	if n, _ := s.m.SendDigests(ctx, false); n != 1 {
		t.Fatalf("the next day's digest was not sent")
	}
	if n, _ := s.m.SendDigests(ctx, false); n != 0 {
		t.Fatalf("two digests in one day")
	}

	// One-click unsubscribe, as a mail client does it, stops the next one.
	u := strings.Trim(unsub, "<>")
	resp, err := http.Post(u, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("one-click unsubscribe = %d", resp.StatusCode)
	}
	sub, _ := s.subs.ByEmail(ctx, "reader@example.org")
	if sub.Status != subscriptions.StatusUnsubscribed {
		t.Fatalf("status after unsubscribing = %s", sub.Status)
	}
	// An item queued just before (the matcher had not seen the change yet).
	late := []delivery.Digest{{Sub: sub.ID, Item: delivery.Item{Article: "late", Topic: "belarus", At: s.clock.Now()}}}
	if _, _, err := delivery.EnqueueBatch(ctx, s.st, "late", nil, late); err != nil {
		t.Fatal(err)
	}
	s.clock.Set(time.Date(2030, 3, 16, 8, 0, 0, 0, vilnius))
	if n, _ := s.m.SendDigests(ctx, false); n != 0 {
		t.Fatalf("a digest went to an unsubscribed reader")
	}
	if got := len(s.smtp.MessagesTo("reader@example.org")); got != 3 {
		t.Fatalf("reader got %d emails, want 3 (confirmation and two digests)", got)
	}
}

func TestTokensRefused(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	sub := &subscriptions.Subscriber{ID: "mail:tok", Kind: subscriptions.KindEmail, Email: "t@example.org", Status: subscriptions.StatusPending,
		Topics: []string{"belarus"}, Frequency: "daily", TZ: "UTC"}
	s.subs.Put(ctx, sub)
	confirm := s.m.Link("/confirm", "confirm", sub.ID, time.Hour)
	manage := s.m.Link("/manage", "manage", sub.ID, time.Hour)
	unsub := s.m.Link("/unsubscribe", "unsub", sub.ID, time.Hour)
	tamper := func(u string) string {
		i := strings.Index(u, "token=") + len("token=") + 3
		c := byte('A')
		if u[i] == 'A' {
			c = 'B'
		}
		return u[:i] + string(c) + u[i+1:]
	}
	cases := []struct {
		name, method, url string
		want              int
	}{
		{"tampered confirm", "GET", tamper(confirm), 400},
		{"tampered manage", "GET", tamper(manage), 400},
		{"tampered unsubscribe", "POST", tamper(unsub), 400},
		{"manage link used to unsubscribe", "POST", strings.Replace(manage, "/manage", "/unsubscribe", 1), 400},
		{"unsubscribe link used to confirm", "GET", strings.Replace(unsub, "/unsubscribe", "/confirm", 1), 400},
		{"no token", "GET", s.base + "/manage", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var code int
			if c.method == "GET" {
				code, _ = s.get(t, c.url)
			} else {
				code, _ = s.post(t, c.url, url.Values{"List-Unsubscribe": {"One-Click"}})
			}
			if code != c.want {
				t.Fatalf("%s %s = %d, want %d", c.method, c.url, code, c.want)
			}
		})
	}
	// Expired: the same links two hours on.
	s.clock.Add(2 * time.Hour)
	for _, u := range []string{confirm, manage} {
		if code, _ := s.get(t, u); code != http.StatusGone {
			t.Errorf("expired link %s = %d, want 410", u, code)
		}
	}
	if code, _ := s.post(t, unsub, url.Values{"List-Unsubscribe": {"One-Click"}}); code != http.StatusGone {
		t.Errorf("expired one-click unsubscribe = %d, want 410", code)
	}
	got, _ := s.subs.Get(ctx, sub.ID)
	if got.Status != subscriptions.StatusPending {
		t.Fatalf("a refused link changed the status to %s", got.Status)
	}
}

// The sign-up form: honeypot, form token, CRLF, known addresses, rate limit.
func TestSignupProtections(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	_, page := s.get(t, s.base+"/")
	form := hidden(t, page)
	ok := func(email string) url.Values {
		return url.Values{"form": {form}, "email": {email}, "topics": {"belarus"}, "frequency": {"daily"}, "hour": {"8"}, "tz": {"UTC"}}
	}

	// CRLF in the address or a topic cannot add a header.
	v := ok("a@example.org\r\nBcc: evil@example.org")
	if code, _ := s.post(t, s.base+"/subscribe", v); code != 400 {
		t.Errorf("address with CRLF = %d, want 400", code)
	}
	v = ok("crlf@example.org")
	v.Set("topics", "belarus\r\nBcc: evil@example.org")
	v.Set("tz", "UTC\r\nBcc: evil@example.org")
	if code, _ := s.post(t, s.base+"/subscribe", v); code != 400 {
		t.Errorf("time zone with CRLF = %d, want 400", code)
	}

	// Honeypot filled: the same answer, nothing stored or sent.
	v = ok("bot@example.org")
	v.Set("website", "http://spam.example")
	if code, page := s.post(t, s.base+"/subscribe", v); code != 200 || !strings.Contains(page, "Check your inbox") {
		t.Errorf("honeypot answer = %d", code)
	}
	if _, err := s.subs.ByEmail(ctx, "bot@example.org"); err == nil {
		t.Errorf("honeypot sign-up was stored")
	}
	// No or forged form token.
	v = ok("forged@example.org")
	v.Set("form", "forged")
	if code, _ := s.post(t, s.base+"/subscribe", v); code != 403 {
		t.Errorf("forged form token = %d, want 403", code)
	}

	// A known active address: the same page, and its owner gets the manage link.
	active := &subscriptions.Subscriber{ID: "mail:known", Kind: subscriptions.KindEmail, Email: "known@example.org",
		Status: subscriptions.StatusActive, Topics: []string{"minsk"}, Frequency: "weekly", TZ: "UTC"}
	s.subs.Put(ctx, active)
	_, fresh := s.post(t, s.base+"/subscribe", ok("new@example.org"))
	_, known := s.post(t, s.base+"/subscribe", ok("known@example.org"))
	// The same but for the address each page repeats.
	if strings.ReplaceAll(fresh, "new@example.org", "known@example.org") != known {
		t.Errorf("the answer for a known address differs from a new one's")
	}
	m := s.smtp.WaitMessagesTo(5*time.Second, "known@example.org", 1)[0]
	if m.Link(s.base+"/manage?token=") == "" || m.Link(s.base+"/confirm?token=") != "" {
		t.Errorf("known address got no manage link (or a confirmation):\n%s", m.Text)
	}
	if got, _ := s.subs.Get(ctx, active.ID); got.Frequency != "weekly" || got.Topics[0] != "minsk" {
		t.Errorf("a sign-up changed an active reader's choices: %+v", got)
	}
	for _, msg := range s.smtp.Messages() {
		for _, to := range msg.To {
			if strings.Contains(to, "evil") {
				t.Fatalf("injected recipient %q", to)
			}
		}
	}

	// Per-IP limit.
	s.web.SignupLimit = 3 // two accepted above: the two refused do not count
	if code, _ := s.post(t, s.base+"/subscribe", ok("x1@example.org")); code != 200 {
		t.Errorf("4th sign-up = %d", code)
	}
	if code, _ := s.post(t, s.base+"/subscribe", ok("x2@example.org")); code != http.StatusTooManyRequests {
		t.Errorf("5th sign-up in an hour = %d, want 429", code)
	}
	s.clock.Add(time.Hour)
	if code, _ := s.post(t, s.base+"/subscribe", ok("x3@example.org")); code != 200 {
		t.Errorf("sign-up an hour later = %d", code)
	}
}

func TestPreview(t *testing.T) {
	s := newSite(t)
	s.publish(t, "a", "Belarus and Iran sign a drone deal", "Belarus and Iran agreed on drones.")
	s.publish(t, "b", "Minsk museum reopens", "The museum in Minsk reopened.")
	code, body := s.get(t, s.base+"/preview?format=json&topics="+url.QueryEscape("belarus\nmuseum*\n\"unclosed"))
	if code != 200 {
		t.Fatalf("preview = %d %s", code, body)
	}
	var res struct {
		Articles int
		Topics   []struct {
			Topic, Error string
			Count        int
			Matches      []struct{ Title, URL string }
		}
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	if res.Articles != 2 || len(res.Topics) != 3 || res.Topics[0].Count != 1 || res.Topics[1].Count != 1 || res.Topics[2].Error == "" {
		t.Fatalf("preview result: %s", body)
	}
	// Without script: the form's Preview button posts the form here.
	_, page := s.get(t, s.base+"/")
	code, page = s.post(t, s.base+"/preview", url.Values{"form": {hidden(t, page)}, "email": {"p@example.org"}, "topics": {"museum*"}})
	if code != 200 {
		t.Fatalf("POST /preview = %d", code)
	}
	contains(t, "preview page", page, "Minsk museum reopens", `value="p@example.org"`, "1 article this week")
}

// Manage page: CSRF bound to the reader, save, pause, export, delete.
func TestManage(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	for _, id := range []string{"mail:one", "mail:two"} {
		s.subs.Put(ctx, &subscriptions.Subscriber{ID: id, Kind: subscriptions.KindEmail, Email: id[5:] + "@example.org",
			Status: subscriptions.StatusActive, Topics: []string{"belarus"}, Frequency: "daily", Hour: 8, TZ: "UTC"})
	}
	one := s.m.Link("/manage", "manage", "mail:one", time.Hour)
	two := s.m.Link("/manage", "manage", "mail:two", time.Hour)
	_, page := s.get(t, one)
	csrfOne := hidden(t, page)
	save := url.Values{"action": {"save"}, "topics": {"minsk\niran drones"}, "frequency": {"weekly"}, "hour": {"19"}, "tz": {"Asia/Tbilisi"}}

	save.Set("csrf", csrfOne)
	if code, _ := s.post(t, two, save); code != 403 {
		t.Errorf("reader one's form token accepted on reader two's page: %d", code)
	}
	save.Del("csrf")
	if code, _ := s.post(t, one, save); code != 403 {
		t.Errorf("save without a form token = %d", code)
	}
	save.Set("csrf", csrfOne)
	if code, page := s.post(t, one, save); code != 200 || !strings.Contains(page, "Saved") {
		t.Fatalf("save = %d\n%s", code, page)
	}
	got, _ := s.subs.Get(ctx, "mail:one")
	if strings.Join(got.Topics, "|") != "minsk|drones iran" || got.Frequency != "weekly" || got.Hour != 19 || got.TZ != "Asia/Tbilisi" {
		t.Fatalf("after save: %+v", got)
	}
	if code, _ := s.post(t, one, url.Values{"csrf": {csrfOne}, "action": {"pause"}, "pause": {"7d"}}); code != 200 {
		t.Fatalf("pause = %d", code)
	}
	got, _ = s.subs.Get(ctx, "mail:one")
	if !got.PausedUntil.After(s.clock.Now().Add(6 * 24 * time.Hour)) {
		t.Fatalf("paused until %v", got.PausedUntil)
	}
	code, body := s.get(t, strings.Replace(one, "/manage?", "/manage/export?", 1))
	if code != 200 || !strings.Contains(body, `"email": "one@example.org"`) || !strings.Contains(body, "drones iran") {
		t.Fatalf("export = %d\n%s", code, body)
	}
	del := strings.Replace(one, "/manage?", "/manage/delete?", 1)
	if code, _ := s.post(t, del, url.Values{"csrf": {csrfOne}}); code != 400 {
		t.Errorf("delete without ticking the box = %d", code)
	}
	if code, _ := s.post(t, del, url.Values{"csrf": {csrfOne}, "sure": {"yes"}}); code != 200 {
		t.Fatalf("delete = %d", code)
	}
	if _, err := s.subs.Get(ctx, "mail:one"); err != subscriptions.ErrNotFound {
		t.Fatalf("reader still there after delete: %v", err)
	}
	if _, err := s.subs.ByEmail(ctx, "one@example.org"); err != subscriptions.ErrNotFound {
		t.Fatalf("address still indexed after delete: %v", err)
	}
	if code, _ := s.get(t, one); code != 404 {
		t.Errorf("manage link after delete = %d, want 404", code)
	}
}
