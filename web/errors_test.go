package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestFieldErrors: a refused sign-up comes back with each reason next to
// its field, the field marked invalid and described by it, the focus on
// the first, and everything typed still there.
func TestFieldErrors(t *testing.T) {
	s := newSite(t)
	_, page := s.get(t, s.base+"/")
	// Subscribe comes first: Enter in a field presses it, not Preview.
	if i, j := strings.Index(page, `<button type="submit">Subscribe</button>`), strings.Index(page, `formaction="/preview"`); i < 0 || j < i {
		t.Fatalf("Subscribe is not the form's first button:\n%s", page)
	}
	form := hidden(t, page)
	for _, c := range []struct{ email, reason string }{
		{"", "Give your email address."},
		{"reader.example.org", "The address has no @"},
		{"@example.org", "The address has nothing before the @"},
		{"reader@", "The address has no domain after the @"},
		{"reader@example", "The address&#39;s domain has no dot"},
		{"re ader@example.org", "The address has a space or a character"},
	} {
		code, page := s.post(t, s.base+"/subscribe", url.Values{"form": {form}, "email": {c.email},
			"topics": {"belarus\n\"unclosed"}, "frequency": {"weekly"}, "hour": {"25"}, "tz": {"Mars/Olympus"}})
		if code != http.StatusBadRequest {
			t.Fatalf("%q: POST = %d", c.email, code)
		}
		contains(t, c.email, page,
			`id="email" name="email" type="email" required autocomplete="email" value="`+htmlEsc(c.email)+`" aria-invalid="true" aria-describedby="email-error" autofocus>`,
			`<div class="field-error" id="email-error">`+c.reason,
			`aria-describedby="topics-hint topics-error" aria-invalid="true">belarus`+"\n"+`&#34;unclosed</textarea>`,
			`<div class="field-error" id="topics-error">Topic “&#34;unclosed”, at character 1: expected a closing quote`,
			`value="25" aria-describedby="hour-hint hour-error" aria-invalid="true">`, `id="hour-error">The hour is a whole number`,
			`value="Mars/Olympus"`, `aria-describedby="tz-hint tz-error" aria-invalid="true">`,
			`value="weekly" checked`, "4 fields need a change")
		if n := strings.Count(page, " autofocus"); n != 1 {
			t.Errorf("%q: %d fields take the focus, want the first only", c.email, n)
		}
	}
	// A good address: the focus goes to the topics.
	_, page = s.post(t, s.base+"/subscribe", url.Values{"form": {form}, "email": {"fine@example.org"}, "topics": {"-only"}})
	contains(t, "bad topic only", page, `aria-invalid="true" autofocus>-only</textarea>`, "One field needs a change")
	if strings.Contains(page, `id="email-error"`) {
		t.Errorf("a good address is marked")
	}
}

var emailValue = regexp.MustCompile(`id="email" name="email"[^>]*value="([^"]*)"`)

// TestSignupLimitCountsSignups: mistakes do not use up a network's
// sign-ups, and the page that says the limit is reached keeps the input.
func TestSignupLimitCountsSignups(t *testing.T) {
	s := newSite(t)
	s.web.SignupLimit = 1
	_, page := s.get(t, s.base+"/")
	form := hidden(t, page)
	for range 3 {
		if code, _ := s.post(t, s.base+"/subscribe", url.Values{"form": {form}, "email": {"typo@"}, "topics": {"belarus"}}); code != 400 {
			t.Fatalf("bad address = %d, want 400", code)
		}
	}
	ok := url.Values{"form": {form}, "email": {"first@example.org"}, "topics": {"belarus"}, "tz": {"Europe/Vilnius"}}
	if code, page := s.post(t, s.base+"/subscribe", ok); code != 200 || !strings.Contains(page, "Check your inbox") {
		t.Fatalf("first real sign-up after three mistakes = %d", code)
	}
	ok.Set("email", "second@example.org")
	ok.Set("topics", "minsk\nmuseum*")
	code, page := s.post(t, s.base+"/subscribe", ok)
	if code != http.StatusTooManyRequests {
		t.Fatalf("second sign-up = %d, want 429", code)
	}
	contains(t, "429 page", page, "Too many sign-ups from your network", "<textarea", ">minsk\nmuseum*</textarea>", `value="Europe/Vilnius"`,
		`<form id="signup" method="post" action="/subscribe"`)
	if m := emailValue.FindStringSubmatch(page); m == nil || m[1] != "second@example.org" {
		t.Errorf("the address typed is not kept on the 429 page: %v", m)
	}
	s.smtp.WaitMessagesTo(5*time.Second, "first@example.org", 1)
}

func htmlEsc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}
