// Package web serves Herald's pages: email sign-up with double opt-in and a
// live preview of what a topic would have matched, confirmation, the
// preferences page, one-click unsubscribe, and the operator's /healthz,
// /readyz and /metrics.
package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/mailer"
	"github.com/herald-news/herald/signup"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/token"
)

// Limits of the pages.
const (
	formValidity = 24 * time.Hour
	csrfValidity = 4 * time.Hour
	// DefaultSignupLimit is how many sign-ups one IP address may post per
	// hour; enough for a household behind one address, too few to use
	// Herald to flood inboxes with confirmations.
	DefaultSignupLimit = 10
	// DefaultPreviewLimit is how many previews one IP address may ask for
	// per minute (the page asks as the reader types, at most every 0.4 s).
	DefaultPreviewLimit = 60
)

// Server holds what the pages need.
type Server struct {
	st     *store.Store
	subs   *subscriptions.Store
	su     *signup.Registrar // nil when email is off
	secret []byte
	log    *slog.Logger
	reg    prometheus.Gatherer

	// Now is the clock; tests control it.
	Now func() time.Time
	// SignupLimit and PreviewLimit cap requests per client IP (see the
	// defaults); they are counted in Redis so they hold across processes.
	SignupLimit, PreviewLimit int
	// PublicURL is HERALD_PUBLIC_URL: a sign-up must be posted from its
	// origin (or from the host it was sent to).
	PublicURL string
	// SiteName and Operator are shown on every page (HERALD_SITE_NAME,
	// default "Herald"; HERALD_OPERATOR).
	SiteName, Operator string
	// Summarize gives the summary of an entry in a subscriber's feed, as
	// the Telegram sender's does for an alert; nil takes the article's own.
	Summarize func(ctx context.Context, a *article.Article, topic string) string

	recent recentCache
	// mails tracks sign-ups still being handled after the page answered
	// (the answer must not wait for, or reveal, what is mailed).
	mails sync.WaitGroup
}

// New returns the web server's handlers.
// su takes sign-ups and mails their confirmations; nil turns email off.
func New(st *store.Store, subs *subscriptions.Store, su *signup.Registrar, secret []byte, reg prometheus.Gatherer, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{st: st, subs: subs, su: su, secret: secret, reg: reg, log: log, Now: time.Now,
		SignupLimit: DefaultSignupLimit, PreviewLimit: DefaultPreviewLimit}
}

// Wait returns when sign-ups answered earlier were handled (their emails
// queued).
func (s *Server) Wait() { s.mails.Wait() }

// Handler routes every page.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.signup)
	mux.HandleFunc("POST /subscribe", s.subscribe)
	mux.HandleFunc("GET /preview", s.preview)
	mux.HandleFunc("POST /preview", s.preview)
	mux.HandleFunc("GET /confirm", s.confirmPage)
	mux.HandleFunc("POST /confirm", s.confirm)
	mux.HandleFunc("GET /unsubscribe", s.unsubscribePage)
	mux.HandleFunc("POST /unsubscribe", s.unsubscribe)
	mux.HandleFunc("GET /manage", s.manage)
	mux.HandleFunc("POST /manage", s.manageSave)
	mux.HandleFunc("GET /manage/export", s.export)
	mux.HandleFunc("POST /manage/delete", s.deleteAll)
	mux.HandleFunc("GET /feed/{id}/{secret}", s.feed)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.ready)
	if s.reg != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	}
	// Any other path: a page saying so, with a way home (the mux's own
	// answer is a bare line of text).
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusNotFound, "notfound", nil)
	})
	return securityHeaders(compress(mux))
}

// basePolicy allows no script at all; pages that carry the preview script
// replace it with one naming that script's nonce.
const basePolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", basePolicy)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		// same-origin, not no-referrer: a browser then names our origin on
		// the pages' own posts (no-referrer makes it "null", which the
		// sign-up's Origin check refuses) and still tells other sites
		// nothing, not even which page a link was on.
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Header().Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.st.Ping(ctx); err != nil {
		// The page is public: where Redis is and why it failed go to
		// the log, not to whoever asks.
		s.log.Warn("not ready: redis does not answer", "err", err)
		http.Error(w, "redis unreachable", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ready\n"))
}

// csrfToken binds a subscriber's forms to that subscriber and page, so a
// token taken from one reader's page is refused on another's.
func (s *Server) csrfToken(page, sub string) string {
	return token.Sign(s.secret, token.CSRF, page+" "+sub, s.Now().Add(csrfValidity))
}

func (s *Server) checkCSRF(r *http.Request, page, sub string) bool {
	got, err := token.Verify(s.secret, token.CSRF, r.PostFormValue("csrf"), s.Now())
	return err == nil && got == page+" "+sub
}

// clientIP is the peer's address. Herald does not trust X-Forwarded-For:
// a reverse proxy in front of it would make every visitor one address.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// allow counts a request in a fixed window per IP in Redis (so the limit
// holds across processes) and reports whether it is within limit. When
// Redis fails it lets the request through: the form is still protected by
// its token and the honeypot.
func (s *Server) allow(ctx context.Context, kind, ip string, limit int, window time.Duration) bool {
	if limit <= 0 {
		return true
	}
	start := s.Now().Truncate(window).Unix()
	key := s.st.Key("ratelimit", kind, ip, strconv.FormatInt(start, 10))
	pipe := s.st.Redis.TxPipeline()
	incr := pipe.Incr(ctx, key)
	pipe.Expire(ctx, key, window+time.Minute)
	if _, err := pipe.Exec(ctx); err != nil {
		s.log.Warn("rate limit not counted", "err", err)
		return true
	}
	return incr.Val() <= int64(limit)
}

func (s *Server) signup(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "signup", &signupPage{Form: s.formToken(s.formBinding(w, r)), Email: s.su != nil, Values: defaultValues()})
}

type signupPage struct {
	Form     string
	Email    bool
	Problems []string
	Values   formValues
	Preview  *previewResult
}

type formValues struct {
	Email, Topics, Frequency, TZ string
	Hour                         int
}

func defaultValues() formValues { return formValues{Frequency: "daily", Hour: 8, TZ: "UTC"} }

func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	if !s.sameOrigin(r) {
		s.log.Info("sign-up posted from another site refused", "origin", r.Header.Get("Origin"), "ip", clientIP(r))
		s.fail(w, r, http.StatusForbidden, "This form can only be sent from this site's own page.")
		return
	}
	if !s.checkForm(r) {
		s.fail(w, r, http.StatusForbidden, "This form has expired; please reload the page and try again.")
		return
	}
	if r.PostFormValue("website") != "" { // the honeypot: people never see it
		s.log.Info("sign-up honeypot filled", "ip", clientIP(r))
		s.render(w, r, http.StatusOK, "check", map[string]any{"Email": strings.TrimSpace(r.PostFormValue("email"))})
		return
	}
	if s.su == nil {
		s.fail(w, r, http.StatusServiceUnavailable, "Email digests are not enabled on this Herald.")
		return
	}
	ctx := r.Context()
	if !s.allow(ctx, "signup", clientIP(r), s.SignupLimit, time.Hour) {
		w.Header().Set("Retry-After", "3600")
		s.fail(w, r, http.StatusTooManyRequests, "Too many sign-ups from your network in the last hour. Please try again later.")
		return
	}
	in, problems := readPrefs(r)
	email, err := mailer.CheckAddress(r.PostFormValue("email"))
	if err != nil {
		problems = append([]string{"Please give a valid email address."}, problems...)
	}
	if len(problems) > 0 {
		s.render(w, r, http.StatusBadRequest, "signup", &signupPage{Form: s.formToken(s.formBinding(w, r)), Email: true, Problems: problems,
			Values: in.values(r.PostFormValue("email"), r.PostFormValue("topics"))})
		return
	}
	// Whatever is known about the address, the page says the same thing
	// (signup.Registrar.Subscribe decides what is mailed), and says it
	// before looking: the time of the answer tells nothing either.
	s.mails.Add(1)
	go func() {
		defer s.mails.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := s.su.Subscribe(ctx, email, signup.Prefs(in)); err != nil {
			s.log.Error("sign-up failed", "err", err)
		}
	}()
	s.render(w, r, http.StatusOK, "check", map[string]any{"Email": email})
}

// prefs are the form's choices, as signup takes them.
type prefs signup.Prefs

func (p prefs) values(email, topics string) formValues {
	return formValues{Email: email, Topics: topics, Frequency: p.Frequency, Hour: p.Hour, TZ: p.TZ}
}

// parseTopics reads one query per line, normalised.
func parseTopics(raw string) ([]string, []string) {
	var topics, problems []string
	for _, line := range strings.Split(raw, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		q, err := subscriptions.Parse(line)
		if err != nil {
			problems = append(problems, "Topic “"+line+"”: "+err.Error())
			continue
		}
		topics = append(topics, q.String())
	}
	return topics, problems
}

// readPrefs reads and checks topics, frequency, hour and time zone.
func readPrefs(r *http.Request) (prefs, []string) {
	var p prefs
	var problems []string
	p.Topics, problems = parseTopics(r.PostFormValue("topics"))
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
		p.Frequency = "daily"
	}
	p.Hour = 8
	if h := strings.TrimSpace(r.PostFormValue("hour")); h != "" {
		n, err := strconv.Atoi(h)
		if err != nil || n < 0 || n > 23 {
			// Hidden "as it happens", the hour is not the reader's to fix.
			if p.Frequency != "instant" {
				problems = append(problems, "Hour must be a whole number from 0 to 23.")
			}
		} else {
			p.Hour = n
		}
	}
	p.TZ = strings.TrimSpace(r.PostFormValue("tz"))
	if p.TZ == "" {
		p.TZ = "UTC"
	}
	if _, err := time.LoadLocation(p.TZ); err != nil || len(p.TZ) > 64 || strings.EqualFold(p.TZ, "local") {
		problems = append(problems, "Time zone must be a name like Europe/Berlin or UTC.")
		p.TZ = "UTC"
	}
	return p, problems
}

// verify checks the link's token for one of purposes and returns the
// subscriber it names (and the purpose that matched).
func (s *Server) verify(w http.ResponseWriter, r *http.Request, purposes ...string) (*subscriptions.Subscriber, string, bool) {
	id, purpose, ok := s.checkToken(w, r, r.URL.Query().Get("token"), purposes...)
	if !ok {
		return nil, "", false
	}
	sub, err := s.subs.Get(r.Context(), id)
	if errors.Is(err, subscriptions.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, "We hold nothing for this link any more.")
		return nil, "", false
	}
	if err != nil {
		s.log.Error("link lookup failed", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "Something went wrong on our side; please try again.")
		return nil, "", false
	}
	return sub, purpose, true
}

// checkToken checks a link's token for one of purposes and returns its
// subject and the purpose that matched; it answers the request itself
// when the token is refused.
func (s *Server) checkToken(w http.ResponseWriter, r *http.Request, tok string, purposes ...string) (string, string, bool) {
	var id, purpose string
	var err error
	for _, p := range purposes {
		got, e := token.Verify(s.secret, p, tok, s.Now())
		if e == nil {
			id, purpose, err = got, p, nil
			break
		}
		// "Expired" says more than "not for this purpose": keep it.
		if err == nil || errors.Is(e, token.ErrExpired) {
			err = e
		}
	}
	if err != nil {
		msg := "This link is not valid. Please use the link from your latest email."
		code := http.StatusBadRequest
		if errors.Is(err, token.ErrExpired) {
			msg = "This link has expired. Sign up again to get a fresh one."
			code = http.StatusGone
		}
		s.fail(w, r, code, msg)
		return "", "", false
	}
	return id, purpose, true
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.Error(what, "err", err)
	s.fail(w, r, http.StatusInternalServerError, "Something went wrong on our side; please try again.")
}

func (s *Server) manageToken(id string) string {
	return token.Sign(s.secret, token.Manage, id, s.Now().Add(mailer.LinkValidity))
}

func (s *Server) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	sub, _, ok := s.verify(w, r, token.Unsubscribe)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "unsubscribe", map[string]any{"Token": r.URL.Query().Get("token"), "Sub": sub,
		"CSRF": s.csrfToken("unsubscribe", sub.ID)})
}

// unsubscribe works for the page's button and for RFC 8058 one-click POSTs
// from mail clients (body List-Unsubscribe=One-Click), which carry no
// form token: for them the signed link itself is the proof.
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	sub, _, ok := s.verify(w, r, token.Unsubscribe)
	if !ok {
		return
	}
	oneClick := r.PostFormValue("List-Unsubscribe") == "One-Click"
	if !oneClick && !s.checkCSRF(r, "unsubscribe", sub.ID) {
		s.fail(w, r, http.StatusForbidden, "This page has expired; please open the unsubscribe link from your email again.")
		return
	}
	_, err := s.subs.Update(r.Context(), sub.ID, func(x *subscriptions.Subscriber) error {
		x.Status = subscriptions.StatusUnsubscribed
		return nil
	})
	if err != nil {
		s.internal(w, r, "unsubscribe failed", err)
		return
	}
	s.log.Info("reader unsubscribed", "subscriber", sub.ID, "one_click", oneClick)
	s.render(w, r, http.StatusOK, "unsubscribed", map[string]any{"Manage": s.manageToken(sub.ID)})
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	s.render(w, r, code, "message", map[string]any{"Message": msg})
}

// render writes a page; each one gets a fresh nonce, and only a script
// carrying it may run.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, data any) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	nonce := base64.StdEncoding.EncodeToString(b[:])
	w.Header().Set("Content-Security-Policy", basePolicy+"; script-src 'nonce-"+nonce+"'; connect-src 'self'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if r.Method == http.MethodHead {
		return
	}
	site := s.SiteName
	if site == "" {
		site = "Herald"
	}
	title := titles[name]
	if name == "message" {
		title = http.StatusText(code)
	}
	if err := pages.ExecuteTemplate(w, name, pageData{Nonce: nonce, Site: site, Operator: s.Operator, Title: title, Data: data}); err != nil {
		s.log.Error("render page", "page", name, "err", err)
	}
}

type pageData struct {
	Nonce          string
	Site, Operator string
	Title          string // what the page is, before the site's name
	Data           any
}

// titles name each page in the browser's tab and history, so that a
// reader with several open can tell them apart; a message page is named
// by its status ("Not Found", "Too Many Requests").
var titles = map[string]string{
	"signup":       "Sign up for news on your topics",
	"check":        "Check your inbox",
	"confirm":      "Confirm your digest",
	"confirmed":    "You're subscribed",
	"manage":       "Your digest settings",
	"unsubscribe":  "Unsubscribe",
	"unsubscribed": "Unsubscribed",
	"deleted":      "Your data is deleted",
	"notfound":     "Page not found",
}
