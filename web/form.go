package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"

	"github.com/herald-news/herald/token"
)

// formCookie holds a random value per browser; the sign-up form's token
// names a hash of it (a double submit, signed): a post counts only with
// the cookie of the browser the form was served to. Another site can
// neither read the token nor set the cookie, and being SameSite the cookie
// does not even travel with a post from another site.
const formCookie = "herald_form"

// formBinding returns this browser's form cookie value, setting a new one
// when it has none (or a malformed one).
func (s *Server) formBinding(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(formCookie); err == nil && validBinding(c.Value) {
		return c.Value
	}
	var b [18]byte
	_, _ = rand.Read(b[:])
	v := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: formCookie, Value: v, Path: "/", MaxAge: int(formValidity.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil || strings.HasPrefix(s.PublicURL, "https://")})
	return v
}

func validBinding(v string) bool {
	b, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil && len(b) == 18
}

// formToken protects the sign-up form: it proves the form was served by us
// recently, to the browser holding binding.
func (s *Server) formToken(binding string) string {
	return token.Sign(s.secret, token.Form, formSubject(binding), s.Now().Add(formValidity))
}

func formSubject(binding string) string {
	h := sha256.Sum256([]byte("herald form " + binding))
	return "signup " + hex.EncodeToString(h[:16])
}

// checkForm reports whether a posted sign-up form carries a good token for
// the cookie its browser sent.
func (s *Server) checkForm(r *http.Request) bool {
	c, err := r.Cookie(formCookie)
	if err != nil || !validBinding(c.Value) {
		return false
	}
	got, err := token.Verify(s.secret, token.Form, r.PostFormValue("form"), s.Now())
	return err == nil && got == formSubject(c.Value)
}

// sameOrigin checks where a post comes from, by its Origin header (or its
// Referer when it has none): the public URL's origin, or the host the
// request was sent to. A browser always names the origin of a post from a
// page (the pages' referrer policy, same-origin, keeps it from being
// "null"); a request naming none is not from a browser, and the form
// token still stands in its way.
func (s *Server) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		ref := r.Header.Get("Referer")
		if ref == "" {
			return true
		}
		u, err := url.Parse(ref)
		if err != nil {
			return false
		}
		o = u.Scheme + "://" + u.Host
	}
	u, err := url.Parse(o)
	if o == "null" || err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	if p, err := url.Parse(s.PublicURL); err == nil && p.Host != "" &&
		strings.EqualFold(u.Scheme, p.Scheme) && strings.EqualFold(hostPort(u), hostPort(p)) {
		return true
	}
	// Either scheme for the request's own host: behind a proxy that ends
	// TLS, the request herald sees is http for an https page.
	return r.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// hostPort is u's host with its scheme's default port left out.
func hostPort(u *url.URL) string {
	if p := u.Port(); (p == "443" && u.Scheme == "https") || (p == "80" && u.Scheme == "http") {
		return u.Hostname()
	}
	return u.Host
}
