package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/subscriptions"
)

// langCookie holds the language a visitor chose with the switch on every
// page; it beats the one stored with a reader and Accept-Language, as it
// is the latest thing this browser's person said.
const langCookie = "lang"

// pageLang picks the language of a page: the switch's cookie, else the
// reader's own (sub may be nil), else the browser's Accept-Language.
func pageLang(r *http.Request, sub *subscriptions.Subscriber) string {
	if c, err := r.Cookie(langCookie); err == nil && locale.Valid(c.Value) {
		return c.Value
	}
	if sub != nil && locale.Valid(sub.Lang) {
		return sub.Lang
	}
	return locale.Match(r.Header.Get("Accept-Language"))
}

// setLang answers the language switch's links, GET /lang?to=ru&back=/path:
// it keeps the choice in a cookie and sends the browser back to the page
// it came from, so the switch needs no script.
func (s *Server) setLang(w http.ResponseWriter, r *http.Request) {
	to := r.URL.Query().Get("to")
	if !locale.Valid(to) {
		s.render(w, r, http.StatusBadRequest, "message", map[string]any{"Message": s.printer(r, nil).T("web.lang.unknown")})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: to, Path: "/", MaxAge: int((365 * 24 * time.Hour).Seconds()),
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil || strings.HasPrefix(s.PublicURL, "https://")})
	http.Redirect(w, r, localPath(r.URL.Query().Get("back")), http.StatusSeeOther)
}

// localPath is back when it is a path on this site, else "/": the switch
// must not become a way to send people elsewhere.
func localPath(back string) string {
	u, err := url.Parse(back)
	if err != nil || back == "" || !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") ||
		strings.HasPrefix(back, "/\\") || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return back
}

// backPath is where the language switch returns to: the page itself when
// it was a GET; for the answer to a post, the GET that shows the same
// page again where there is one.
func backPath(r *http.Request) string {
	switch {
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return r.URL.RequestURI()
	case r.URL.Path == "/manage" || r.URL.Path == "/unsubscribe":
		return r.URL.RequestURI()
	case r.URL.Path == "/confirm" && r.PostFormValue("token") != "":
		// A used link shows an active reader the confirmed page again.
		return "/confirm?token=" + url.QueryEscape(r.PostFormValue("token"))
	}
	return "/"
}

// langLink is one entry of the language switch.
type langLink struct {
	Code, Name, Href string
	Current          bool
}

func switchLinks(r *http.Request, current string) []langLink {
	back := backPath(r)
	out := make([]langLink, 0, len(locale.Langs))
	for _, l := range locale.Langs {
		out = append(out, langLink{Code: l, Name: locale.Name(l), Current: l == current,
			Href: "/lang?to=" + l + "&back=" + url.QueryEscape(back)})
	}
	return out
}
