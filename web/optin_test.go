package web_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/subscriptions"
)

func (s *site) signUp(t *testing.T, email, topics string) {
	t.Helper()
	_, page := s.get(t, s.base+"/")
	code, page := s.post(t, s.base+"/subscribe", url.Values{"form": {hidden(t, page)}, "email": {email},
		"topics": {topics}, "frequency": {"daily"}, "hour": {"8"}, "tz": {"UTC"}})
	if code != 200 || !strings.Contains(page, "Check your inbox") {
		t.Fatalf("POST /subscribe = %d:\n%s", code, page)
	}
}

// A link scanner's HEAD and GET of a confirmation link confirm nothing;
// the page's button does.
func TestConfirmNeedsAPerson(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	s.signUp(t, "scanned@example.org", "belarus")
	link := s.smtp.WaitMessagesTo(5*time.Second, "scanned@example.org", 1)[0].Link(s.base + "/confirm?token=")
	if link == "" {
		t.Fatal("no confirmation link")
	}
	req, _ := http.NewRequest(http.MethodHead, link, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("HEAD = %d", resp.StatusCode)
	}
	code, page := s.get(t, link)
	if code != 200 {
		t.Fatalf("GET = %d", code)
	}
	contains(t, "confirm page", page, "Confirm your digest", "<code>belarus</code>", `action="/confirm"`, "Confirm my subscription")
	sub, err := s.subs.ByEmail(ctx, "scanned@example.org")
	if err != nil || sub.Status != subscriptions.StatusPending || len(sub.Topics) != 0 {
		t.Fatalf("after HEAD and GET the reader is %+v, %v; want pending with nothing confirmed", sub, err)
	}
	if code, page := s.confirm(t, link); code != 200 || !strings.Contains(page, "subscribed") {
		t.Fatalf("the button = %d:\n%s", code, page)
	}
	sub, _ = s.subs.Get(ctx, sub.ID)
	if sub.Status != subscriptions.StatusActive || strings.Join(sub.Topics, ",") != "belarus" {
		t.Fatalf("after the button: %+v", sub)
	}
	// Opening the link again shows that all is well and changes nothing.
	if code, page := s.get(t, link); code != 200 || !strings.Contains(page, "subscribed") {
		t.Fatalf("the link after confirming = %d:\n%s", code, page)
	}
}

// Issue 14's story: the reader signs up for museum*; a stranger signs the
// same address up for weather before the reader opens the email. The
// first email's link confirms museum*, and its page says so.
func TestStrangerCannotChangeWhatALinkConfirms(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	s.signUp(t, "owner@example.org", "museum*")
	first := s.smtp.WaitMessagesTo(5*time.Second, "owner@example.org", 1)[0]

	stranger := &site{base: s.base, client: &http.Client{}}
	stranger.client.Jar, _ = cookiejar.New(nil)
	stranger.signUp(t, "owner@example.org", "weather")
	second := s.smtp.WaitMessagesTo(5*time.Second, "owner@example.org", 2)[1]
	contains(t, "first email", first.Text, "museum*")
	contains(t, "second email", second.Text, "weather")

	link := first.Link(s.base + "/confirm?token=")
	_, page := s.get(t, link)
	contains(t, "first link's page", page, "<code>museum*</code>")
	if strings.Contains(page, "weather") {
		t.Fatalf("the first link's page lists the stranger's topic:\n%s", page)
	}
	if code, _ := s.confirm(t, link); code != 200 {
		t.Fatalf("confirm = %d", code)
	}
	sub, _ := s.subs.ByEmail(ctx, "owner@example.org")
	if sub.Status != subscriptions.StatusActive || strings.Join(sub.Topics, ",") != "museum*" {
		t.Fatalf("the first link confirmed %+v; want museum*", sub)
	}
	// The stranger's link, opened afterwards, changes nothing.
	s.get(t, second.Link(s.base+"/confirm?token="))
	if got, _ := s.subs.Get(ctx, sub.ID); strings.Join(got.Topics, ",") != "museum*" {
		t.Fatalf("topics after the stranger's link = %q", got.Topics)
	}
}

// The sign-up form counts only from the browser it was served to, and
// only when posted from this site.
func TestSignupFormBoundToBrowser(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	_, page := s.get(t, s.base+"/")
	form := hidden(t, page)
	v := func(email string) url.Values {
		return url.Values{"form": {form}, "email": {email}, "topics": {"belarus"}, "frequency": {"daily"}, "hour": {"8"}, "tz": {"UTC"}}
	}
	if code, _ := s.postFrom(t, "https://evil.example", s.base+"/subscribe", v("cross@example.org")); code != 403 {
		t.Errorf("post from another site = %d, want 403", code)
	}
	if code, _ := s.postFrom(t, "null", s.base+"/subscribe", v("null@example.org")); code != 403 {
		t.Errorf("post with Origin null = %d, want 403", code)
	}
	if code, _ := s.postFrom(t, "referer https://evil.example/page", s.base+"/subscribe", v("referer@example.org")); code != 403 {
		t.Errorf("post with another site's Referer and no Origin = %d, want 403", code)
	}
	// Another browser (no cookie, or its own) with this browser's token.
	other := &site{base: s.base, client: &http.Client{}}
	if code, _ := other.post(t, s.base+"/subscribe", v("nocookie@example.org")); code != 403 {
		t.Errorf("token without its cookie = %d, want 403", code)
	}
	other.client.Jar, _ = cookiejar.New(nil)
	other.get(t, s.base+"/")
	if code, _ := other.post(t, s.base+"/subscribe", v("othercookie@example.org")); code != 403 {
		t.Errorf("token with another browser's cookie = %d, want 403", code)
	}
	// The form as served: from the page (Origin), or from a client that
	// names no origin at all.
	if code, _ := s.post(t, s.base+"/subscribe", v("ok@example.org")); code != 200 {
		t.Errorf("the form as served = %d", code)
	}
	if code, _ := s.postFrom(t, "referer "+s.base+"/", s.base+"/subscribe", v("ref@example.org")); code != 200 {
		t.Errorf("the form with this site's Referer and no Origin = %d", code)
	}
	if code, _ := s.postFrom(t, "", s.base+"/subscribe", v("plain@example.org")); code != 200 {
		t.Errorf("the form from a client sending no Origin = %d", code)
	}
	s.smtp.WaitMessagesTo(5*time.Second, "ok@example.org", 1)
	s.smtp.WaitMessagesTo(5*time.Second, "plain@example.org", 1)
	s.web.Wait()
	s.smtp.WaitMessagesTo(5*time.Second, "ref@example.org", 1)
	for _, a := range []string{"cross@example.org", "null@example.org", "referer@example.org", "nocookie@example.org", "othercookie@example.org"} {
		if _, err := s.subs.ByEmail(ctx, a); err == nil {
			t.Errorf("refused sign-up of %s was stored", a)
		}
	}
}

// Confirmations and footers carry the site's name, the operator and a
// plain link under the button.
func TestConfirmationContent(t *testing.T) {
	s := newSite(t)
	s.m.SiteName, s.m.Operator = "Vestnik", "Example Newsroom"
	s.web.SiteName, s.web.Operator = "Vestnik", "Example Newsroom"
	_, page := s.get(t, s.base+"/")
	contains(t, "sign-up page", page, "<title>Sign up for news on your topics — Vestnik</title>", "run by Example Newsroom")
	s.signUp(t, "named@example.org", "belarus")
	m := s.smtp.WaitMessagesTo(5*time.Second, "named@example.org", 1)[0]
	link := m.Link(s.base + "/confirm?token=")
	if m.HeaderValue("Subject") != "Confirm your Vestnik news digest" {
		t.Errorf("subject = %q", m.HeaderValue("Subject"))
	}
	contains(t, "text part", m.Text, "asked Vestnik", link, "Vestnik, run by Example Newsroom")
	esc := strings.ReplaceAll(link, "&", "&amp;")
	contains(t, "HTML part", m.HTML, "asked Vestnik", ">"+esc+"</a>", "Vestnik, run by Example Newsroom")
	if strings.Count(m.HTML, `href="`+esc+`"`) != 2 {
		t.Errorf("the HTML part should link the button and the plain link:\n%s", m.HTML)
	}
}
