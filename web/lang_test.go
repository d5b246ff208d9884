package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// getLang fetches a page as a browser asking for languages accept.
func (s *site) getLang(t *testing.T, u, accept string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Accept-Language", accept)
	return s.do(t, req)
}

// TestLanguage: Accept-Language picks the page's language; the switch's
// links set a cookie that beats it and return to the page; a sign-up
// keeps the language with the reader; every page has its lang.
func TestLanguage(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	_, page := s.getLang(t, s.base+"/", "ru-RU,ru;q=0.9,en;q=0.5")
	contains(t, "Russian sign-up page", page, `<html lang="ru">`, "<title>Подписка на новости по вашим темам — Herald</title>",
		`<label for="email">Адрес электронной почты</label>`, `<button type="submit">Подписаться</button>`, "Как записать тему",
		`<span lang="ru" aria-current="true">Русский</span>`, `<a href="/lang?to=en&amp;back=%2F" lang="en" hreflang="en">English</a>`,
		`<input type="hidden" name="lang" value="ru">`, "Конфиденциальность:")
	_, page = s.getLang(t, s.base+"/", "de-DE,de;q=0.9")
	contains(t, "page for a German browser", page, `<html lang="en">`, "Email address")

	// Refused fields in Russian.
	form := hidden(t, page)
	_, page = s.post(t, s.base+"/subscribe", url.Values{"form": {form}, "lang": {"ru"}, "email": {"ivan@"}, "topics": {""}})
	// This post names no language (a browser would send its
	// Accept-Language again) and no switch was used: English.
	contains(t, "refused in English", page, "The address has no domain")

	// The switch: a cookie, then back to the page it was on.
	noFollow := *s.client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for back, want := range map[string]string{"/manage?token=abc": "/manage?token=abc", "//evil.example/": "/", "https://evil.example/": "/", "/\\evil.example": "/"} {
		resp, err := noFollow.Get(s.base + "/lang?to=ru&back=" + url.QueryEscape(back))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("switch back to %q = %d %q, want 303 %q", back, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	if code, _ := s.get(t, s.base+"/lang?to=xx&back=/"); code != http.StatusBadRequest {
		t.Errorf("switch to an unknown language = %d", code)
	}
	_, page = s.getLang(t, s.base+"/", "en")
	contains(t, "sign-up page after switching to Russian", page, `<html lang="ru">`, "Подписаться")

	code, page := s.post(t, s.base+"/subscribe", url.Values{"form": {hidden(t, page)}, "lang": {"ru"}, "email": {"ivan@"}, "topics": {"\"незакрытая"}})
	if code != 400 {
		t.Fatalf("refused sign-up = %d", code)
	}
	contains(t, "refused in Russian", page, "В адресе нет домена после @", "Тема «&#34;незакрытая», символ 1: кавычки, открытые здесь, не закрыты.",
		"В 2 полях нужно что-то исправить")

	code, page = s.post(t, s.base+"/subscribe", url.Values{"form": {form}, "lang": {"ru"}, "email": {"ivan@example.org"},
		"topics": {"беларусь"}, "tz": {"Europe/Minsk"}, "hour": {"9"}})
	if code != 200 {
		t.Fatalf("sign-up = %d:\n%s", code, page)
	}
	contains(t, "check page in Russian", page, "Проверьте почту", "<strong>ivan@example.org</strong> можно отправлять сводки")
	link := s.smtp.WaitMessagesTo(5*time.Second, "ivan@example.org", 1)[0].Link(s.base + "/confirm?token=")
	_, page = s.get(t, link)
	contains(t, "confirm page in Russian", page, `<html lang="ru">`, "Подтвердите подписку", "Раз в день, в 09:00 (Europe/Minsk).",
		"Подтвердить подписку")
	_, page = s.confirm(t, link)
	contains(t, "confirmed page in Russian", page, "Вы подписаны", "<dt>Как часто</dt><dd>Раз в день</dd>", "(время Europe/Minsk)")
	sub, err := s.subs.ByEmail(ctx, "ivan@example.org")
	if err != nil || sub.Lang != "ru" {
		t.Fatalf("reader after confirming: %+v %v; want language ru", sub, err)
	}
	// The switch on a page that answered a post returns to a page that
	// shows the same again.
	if !strings.Contains(page, `href="/lang?to=en&amp;back=%2Fconfirm%3Ftoken%3D`) {
		t.Errorf("the confirmed page's switch does not come back to it:\n%s", page)
	}
}
