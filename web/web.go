// Package web serves Herald's pages: email sign-up with double opt-in,
// confirmation, preferences and one-click unsubscribe, and the operator's
// /healthz, /readyz and /metrics.
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/herald-news/herald/mailer"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/token"
)

// Server holds what the pages need.
type Server struct {
	st     *store.Store
	subs   *subscriptions.Store
	mail   *mailer.Mailer // nil when email is off
	secret []byte
	log    *slog.Logger
	reg    prometheus.Gatherer

	// Now is the clock; tests control it.
	Now func() time.Time
}

// New returns the web server's handlers.
func New(st *store.Store, subs *subscriptions.Store, m *mailer.Mailer, secret []byte, reg prometheus.Gatherer, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{st: st, subs: subs, mail: m, secret: secret, reg: reg, log: log, Now: time.Now}
}

// Handler routes every page.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.signup)
	mux.HandleFunc("POST /subscribe", s.subscribe)
	mux.HandleFunc("GET /confirm", s.confirm)
	mux.HandleFunc("GET /unsubscribe", s.unsubscribePage)
	mux.HandleFunc("POST /unsubscribe", s.unsubscribe)
	mux.HandleFunc("GET /manage", s.manage)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.ready)
	if s.reg != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	}
	return securityHeaders(mux)
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.st.Ping(ctx); err != nil {
		http.Error(w, "not ready: redis: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ready\n"))
}

// formToken protects the sign-up form: it proves the form was served by us
// recently (a signed timestamp), which stops cross-site posts and most bots
// without a cookie.
func (s *Server) formToken() string {
	return token.Sign(s.secret, "form", strconv.FormatInt(s.Now().Unix(), 10), s.Now().Add(24*time.Hour))
}

func (s *Server) signup(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "signup", map[string]any{"Form": s.formToken(), "Email": s.mail != nil})
}

func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	if _, err := token.Verify(s.secret, "form", r.PostFormValue("form"), s.Now()); err != nil {
		s.fail(w, http.StatusForbidden, "This form has expired; please reload the page and try again.")
		return
	}
	if r.PostFormValue("website") != "" { // the honeypot: people never see it
		s.render(w, http.StatusOK, "check", nil)
		return
	}
	if s.mail == nil {
		s.fail(w, http.StatusServiceUnavailable, "Email digests are not enabled on this Herald.")
		return
	}
	in, problems := readPrefs(r)
	email, err := mailer.CheckAddress(r.PostFormValue("email"))
	if err != nil {
		problems = append([]string{"Please give a valid email address."}, problems...)
	}
	if len(problems) > 0 {
		s.render(w, http.StatusBadRequest, "signup", map[string]any{
			"Form": s.formToken(), "Email": true, "Problems": problems,
			"Values": map[string]any{"email": r.PostFormValue("email"), "topics": r.PostFormValue("topics"),
				"frequency": in.Frequency, "hour": in.Hour, "tz": in.TZ},
		})
		return
	}
	ctx := r.Context()
	sub, err := s.subs.ByEmail(ctx, email)
	switch {
	case errors.Is(err, subscriptions.ErrNotFound):
		sub = &subscriptions.Subscriber{ID: newID(), Kind: subscriptions.KindEmail, Email: email, Status: subscriptions.StatusPending}
	case err != nil:
		s.log.Error("sign-up lookup failed", "err", err)
		s.fail(w, http.StatusInternalServerError, "Something went wrong on our side; please try again.")
		return
	}
	// A known address gets a fresh confirmation with the new choices; the
	// page says the same thing either way, so it reveals nothing.
	if sub.Status != subscriptions.StatusActive {
		sub.Topics, sub.Frequency, sub.Hour, sub.TZ = in.Topics, in.Frequency, in.Hour, in.TZ
		if sub.Status != subscriptions.StatusSuspended {
			sub.Status = subscriptions.StatusPending
		}
		if err := s.subs.Put(ctx, sub); err != nil {
			s.log.Error("sign-up save failed", "err", err)
			s.fail(w, http.StatusInternalServerError, "Something went wrong on our side; please try again.")
			return
		}
	}
	if sub.Status != subscriptions.StatusSuspended {
		if err := s.mail.SendConfirmation(ctx, sub); err != nil {
			s.log.Warn("confirmation not sent", "subscriber", sub.ID, "err", err)
		}
	}
	s.render(w, http.StatusOK, "check", nil)
}

type prefs struct {
	Topics    []string
	Frequency string
	Hour      int
	TZ        string
}

// readPrefs reads and checks topics, frequency, hour and time zone.
func readPrefs(r *http.Request) (prefs, []string) {
	var p prefs
	var problems []string
	for _, line := range strings.Split(r.PostFormValue("topics"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		q, err := subscriptions.Parse(line)
		if err != nil {
			problems = append(problems, "Topic “"+line+"”: "+err.Error())
			continue
		}
		p.Topics = append(p.Topics, q.String())
	}
	if len(p.Topics) == 0 && len(problems) == 0 {
		problems = append(problems, "Give at least one topic, one per line.")
	}
	if len(p.Topics) > subscriptions.DefaultMaxTopics {
		problems = append(problems, "At most "+strconv.Itoa(subscriptions.DefaultMaxTopics)+" topics, please.")
	}
	p.Frequency = r.PostFormValue("frequency")
	switch p.Frequency {
	case "instant", "daily", "weekly":
	case "":
		p.Frequency = "daily"
	default:
		problems = append(problems, "Frequency must be instant, daily or weekly.")
	}
	p.Hour = 8
	if h := r.PostFormValue("hour"); h != "" {
		n, err := strconv.Atoi(h)
		if err != nil || n < 0 || n > 23 {
			problems = append(problems, "Hour must be a whole number from 0 to 23.")
		}
		p.Hour = n
	}
	p.TZ = strings.TrimSpace(r.PostFormValue("tz"))
	if p.TZ == "" {
		p.TZ = "UTC"
	}
	if _, err := time.LoadLocation(p.TZ); err != nil || len(p.TZ) > 64 {
		problems = append(problems, "Time zone must be a name like Europe/Berlin or UTC.")
	}
	return p, problems
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request, purpose string) (*subscriptions.Subscriber, bool) {
	id, err := token.Verify(s.secret, purpose, r.FormValue("token"), s.Now())
	if err != nil {
		msg := "This link is not valid. Please use the link from your latest email."
		if errors.Is(err, token.ErrExpired) {
			msg = "This link has expired. Sign up again to get a fresh one."
		}
		s.fail(w, http.StatusBadRequest, msg)
		return nil, false
	}
	sub, err := s.subs.Get(r.Context(), id)
	if errors.Is(err, subscriptions.ErrNotFound) {
		s.fail(w, http.StatusNotFound, "We hold nothing for this link any more.")
		return nil, false
	}
	if err != nil {
		s.log.Error("link lookup failed", "err", err)
		s.fail(w, http.StatusInternalServerError, "Something went wrong on our side; please try again.")
		return nil, false
	}
	return sub, true
}

func (s *Server) confirm(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.verify(w, r, token.Confirm)
	if !ok {
		return
	}
	if sub.Status == subscriptions.StatusPending {
		var err error
		sub, err = s.subs.Update(r.Context(), sub.ID, func(x *subscriptions.Subscriber) error {
			if x.Status == subscriptions.StatusPending {
				x.Status = subscriptions.StatusActive
			}
			return nil
		})
		if err != nil {
			s.log.Error("confirm failed", "err", err)
			s.fail(w, http.StatusInternalServerError, "Something went wrong on our side; please try again.")
			return
		}
		s.log.Info("reader confirmed", "subscriber", sub.ID)
	}
	s.render(w, http.StatusOK, "confirmed", map[string]any{"Sub": sub})
}

func (s *Server) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.verify(w, r, token.Unsubscribe); !ok {
		return
	}
	s.render(w, http.StatusOK, "unsubscribe", map[string]any{"Token": r.FormValue("token")})
}

// unsubscribe works for the page's button and for RFC 8058 one-click POSTs
// from mail clients (body List-Unsubscribe=One-Click).
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	sub, ok := s.verify(w, r, token.Unsubscribe)
	if !ok {
		return
	}
	_, err := s.subs.Update(r.Context(), sub.ID, func(x *subscriptions.Subscriber) error {
		x.Status = subscriptions.StatusUnsubscribed
		return nil
	})
	if err != nil {
		s.log.Error("unsubscribe failed", "err", err)
		s.fail(w, http.StatusInternalServerError, "Something went wrong on our side; please try again.")
		return
	}
	s.log.Info("reader unsubscribed", "subscriber", sub.ID)
	s.render(w, http.StatusOK, "unsubscribed", nil)
}

func (s *Server) manage(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.verify(w, r, token.Manage)
	if !ok {
		return
	}
	s.render(w, http.StatusOK, "manage", map[string]any{"Sub": sub})
}

func (s *Server) fail(w http.ResponseWriter, code int, msg string) {
	s.render(w, code, "message", map[string]any{"Message": msg})
}

func (s *Server) render(w http.ResponseWriter, code int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		s.log.Error("render page", "page", name, "err", err)
	}
}

func newID() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return "mail:" + hex.EncodeToString(b[:])
}

var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Herald — news on your topics</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:40rem;margin:0 auto;padding:1rem 1.25rem;line-height:1.5}
label{display:block;font-weight:600;margin-top:1rem}
input,select,textarea,button{font:inherit;padding:.5rem;box-sizing:border-box}
input[type=email],textarea,select{width:100%}
button{margin-top:1.25rem;padding:.6rem 1.2rem;border-radius:.4rem;border:1px solid #1f5fbf;background:#1f5fbf;color:#fff;cursor:pointer}
.hint{font-weight:400;font-size:.9rem;color:#666}
.problems{border-left:4px solid #b00020;padding:.25rem 1rem;background:rgba(176,0,32,.07)}
.hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}
:focus-visible{outline:3px solid #f5a300;outline-offset:2px}
</style></head><body><main>{{end}}
{{define "foot"}}</main></body></html>{{end}}

{{define "signup"}}{{template "head"}}
<h1>Herald</h1>
<p>News on the topics you follow, in one calm email: only when something new was published.</p>
{{if not .Email}}<p class="problems">Email digests are not enabled on this Herald.</p>{{end}}
{{with .Problems}}<div class="problems" role="alert"><p>Please check:</p><ul>{{range .}}<li>{{.}}</li>{{end}}</ul></div>{{end}}
<form method="post" action="/subscribe">
<input type="hidden" name="form" value="{{.Form}}">
<label for="email">Email address</label>
<input id="email" name="email" type="email" required autocomplete="email" value="{{with .Values}}{{.email}}{{end}}">
<label for="topics">Topics <span class="hint">— one per line, e.g. <code>belarus</code> or <code>"military cooperation" iran -israel</code></span></label>
<textarea id="topics" name="topics" rows="4" required>{{with .Values}}{{.topics}}{{end}}</textarea>
<label for="frequency">How often</label>
<select id="frequency" name="frequency">
<option value="daily">Once a day</option>
<option value="weekly">Once a week</option>
<option value="instant">As it happens</option>
</select>
<label for="hour">At hour <span class="hint">(0–23, your time)</span></label>
<input id="hour" name="hour" type="number" min="0" max="23" value="8">
<label for="tz">Time zone</label>
<input id="tz" name="tz" type="text" value="UTC" autocomplete="off">
<div class="hp" aria-hidden="true"><label for="website">Leave this empty</label><input id="website" name="website" type="text" tabindex="-1" autocomplete="off"></div>
<button type="submit">Subscribe</button>
</form>
<p class="hint">We send one email to confirm. Nothing else is sent until you open its link.</p>
{{template "foot"}}{{end}}

{{define "check"}}{{template "head"}}
<h1>Check your inbox</h1>
<p>If the address can receive digests, an email with a confirmation link is on its way. Open that link to start.</p>
{{template "foot"}}{{end}}

{{define "confirmed"}}{{template "head"}}
<h1>You're subscribed</h1>
<p>Herald will email {{.Sub.Email}} when something new matches:</p>
<ul>{{range .Sub.Topics}}<li><code>{{.}}</code></li>{{end}}</ul>
{{template "foot"}}{{end}}

{{define "manage"}}{{template "head"}}
<h1>Your digest</h1>
<p>Address: {{.Sub.Email}} · status: {{.Sub.Status}} · frequency: {{.Sub.Frequency}}</p>
<ul>{{range .Sub.Topics}}<li><code>{{.}}</code></li>{{end}}</ul>
{{template "foot"}}{{end}}

{{define "unsubscribe"}}{{template "head"}}
<h1>Unsubscribe</h1>
<form method="post" action="/unsubscribe?token={{.Token}}">
<button type="submit">Stop sending me digests</button>
</form>
{{template "foot"}}{{end}}

{{define "unsubscribed"}}{{template "head"}}
<h1>Unsubscribed</h1>
<p>No more digests will be sent to this address.</p>
{{template "foot"}}{{end}}

{{define "message"}}{{template "head"}}
<h1>Herald</h1>
<p>{{.Message}}</p>
{{template "foot"}}{{end}}
`))
