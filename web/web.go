// Package web serves Herald's pages: email sign-up with double opt-in and a
// live preview of what a topic would have matched, confirmation, the
// preferences page, one-click unsubscribe, and the operator's /healthz,
// /readyz and /metrics.
package web

import (
	"bytes"
	"cmp"
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
	"github.com/herald-news/herald/locale"
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

	// Sources lists the watched sources for the sign-up page (the
	// watcher's feeds; service sets it); nil lists the sources of the
	// week's articles.
	Sources func(ctx context.Context) ([]Source, error)

	recent  recentCache
	sources sourcesCache
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
	mux.HandleFunc("GET /archive/{id}/{secret}", s.archive)
	mux.HandleFunc("GET /lang", s.setLang)
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
	L := s.printer(r, nil)
	p := &signupPage{Form: s.formToken(s.formBinding(w, r)), Email: s.su != nil}
	p.Values = defaultValues(L.Lang())
	s.fillSignup(r.Context(), L, p)
	s.render(w, r, http.StatusOK, "signup", p)
}

type signupPage struct {
	formView
	Form    string
	Email   bool
	Problem string // about the whole form (too many sign-ups)
	Sample  []sampleItem
	Sources []Source
	// SourceCount is how many sources there are; Sources lists the first.
	SourceCount int
}

// formView is the preferences part of the sign-up and manage forms.
type formView struct {
	Values formValues
	// Errors are the reasons a field was refused, by field name.
	Errors  map[string][]string
	Preview *previewResult
	Manage  bool // the manage page's form, which also sets the language
}

// View is the part the shared "prefs" template shows.
func (f formView) View() formView { return f }

// formValues are what the form shows: as typed, when it comes back
// refused.
type formValues struct {
	Email, Topics, Frequency, Hour, TZ, Lang string
}

func defaultValues(lang string) formValues {
	return formValues{Frequency: "daily", Hour: "8", TZ: "UTC", Lang: lang}
}

// fieldOrder is the order of the fields on the page: the first with an
// error gets the focus.
var fieldOrder = []string{"email", "topics", "frequency", "hour", "tz", "lang"}

func firstError(errs map[string][]string) string {
	for _, f := range fieldOrder {
		if len(errs[f]) > 0 {
			return f
		}
	}
	return ""
}

// fieldErr is one field's reasons, for the "ferr" template.
type fieldErr struct {
	ID   string
	Msgs []string
}

func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "web.fail.form")
		return
	}
	if !s.sameOrigin(r) {
		s.log.Info("sign-up posted from another site refused", "origin", r.Header.Get("Origin"), "ip", clientIP(r))
		s.fail(w, r, http.StatusForbidden, "web.fail.origin")
		return
	}
	if !s.checkForm(r) {
		s.fail(w, r, http.StatusForbidden, "web.fail.form_expired")
		return
	}
	if r.PostFormValue("website") != "" { // the honeypot: people never see it
		s.log.Info("sign-up honeypot filled", "ip", clientIP(r))
		s.render(w, r, http.StatusOK, "check-inbox", map[string]any{"Email": strings.TrimSpace(r.PostFormValue("email"))})
		return
	}
	if s.su == nil {
		s.fail(w, r, http.StatusServiceUnavailable, "web.fail.email_off")
		return
	}
	ctx := r.Context()
	L := s.printer(r, nil)
	in, errs := readPrefs(r, L)
	email, err := mailer.CheckAddress(r.PostFormValue("email"))
	if err != nil {
		errs["email"] = []string{emailProblem(L, r.PostFormValue("email"))}
	}
	again := func(code int, problem string) {
		p := &signupPage{Form: s.formToken(s.formBinding(w, r)), Email: true, Problem: problem}
		p.Values, p.Errors = in.values(r), errs
		s.fillSignup(ctx, L, p)
		s.render(w, r, code, "signup", p)
	}
	// A mistake is not counted against the network's sign-ups: only a
	// sign-up that would mail someone is.
	if len(errs) > 0 {
		again(http.StatusBadRequest, "")
		return
	}
	if !s.allow(ctx, "signup", clientIP(r), s.SignupLimit, time.Hour) {
		w.Header().Set("Retry-After", "3600")
		again(http.StatusTooManyRequests, L.T("web.fail.signup_limit"))
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
	s.render(w, r, http.StatusOK, "check-inbox", map[string]any{"Email": email})
}

// emailProblem says what is wrong with an address CheckAddress refused.
func emailProblem(L locale.P, raw string) string {
	raw = strings.TrimSpace(raw)
	at := strings.LastIndexByte(raw, '@')
	switch {
	case raw == "":
		return L.T("web.err.email.empty")
	case at < 0:
		return L.T("web.err.email.no_at")
	case at == 0:
		return L.T("web.err.email.no_name")
	case at == len(raw)-1:
		return L.T("web.err.email.no_domain")
	case strings.ContainsAny(raw, " ,;<>\"\r\n\x00"):
		return L.T("web.err.email.chars")
	case !strings.Contains(raw[at+1:], "."):
		return L.T("web.err.email.no_dot")
	}
	return L.T("web.err.email.invalid")
}

// prefs are the form's choices, as signup takes them.
type prefs signup.Prefs

// values are the form as it was posted, for showing it again: r's hour
// and zone as typed (clipped), the rest as read.
func (p prefs) values(r *http.Request) formValues {
	v := formValues{Email: clipRunes(r.FormValue("email"), 300), Topics: r.FormValue("topics"), Frequency: p.Frequency,
		Hour: clipRunes(strings.TrimSpace(r.FormValue("hour")), 8), TZ: clipRunes(strings.TrimSpace(r.FormValue("tz")), 80), Lang: p.Lang}
	if v.Hour == "" {
		v.Hour = strconv.Itoa(p.Hour)
	}
	if v.TZ == "" {
		v.TZ = p.TZ
	}
	return v
}

// topicProblem words why a topic was refused, in the page's language.
func topicProblem(L locale.P, line string, err error) string {
	return L.T("web.err.topic", "Topic", clipRunes(line, 120), "Reason", subscriptions.ErrorIn(err, L.Lang()))
}

// readPrefs reads and checks topics, frequency, hour, time zone and
// language; the reasons it refused any are keyed by field.
func readPrefs(r *http.Request, L locale.P) (prefs, map[string][]string) {
	var p prefs
	errs := map[string][]string{}
	for _, line := range strings.Split(r.PostFormValue("topics"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		q, err := subscriptions.Parse(line)
		if err != nil {
			errs["topics"] = append(errs["topics"], topicProblem(L, line, err))
			continue
		}
		p.Topics = append(p.Topics, q.String())
	}
	if len(p.Topics) == 0 && len(errs["topics"]) == 0 {
		errs["topics"] = []string{L.T("web.err.topics.none")}
	}
	if len(p.Topics) > subscriptions.DefaultMaxTopics {
		errs["topics"] = append(errs["topics"], L.T("web.err.topics.many", "Max", subscriptions.DefaultMaxTopics))
	}
	p.Frequency = r.PostFormValue("frequency")
	switch p.Frequency {
	case "instant", "daily", "weekly":
	case "":
		p.Frequency = "daily"
	default:
		errs["frequency"] = []string{L.T("web.err.frequency")}
		p.Frequency = "daily"
	}
	p.Hour = 8
	if h := strings.TrimSpace(r.PostFormValue("hour")); h != "" {
		n, err := strconv.Atoi(h)
		if err != nil || n < 0 || n > 23 {
			// Hidden "as it happens", the hour is not the reader's to fix.
			if p.Frequency != "instant" {
				errs["hour"] = []string{L.T("web.err.hour")}
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
		errs["tz"] = []string{L.T("web.err.tz")}
		p.TZ = "UTC"
	}
	p.Lang = r.PostFormValue("lang")
	if !locale.Valid(p.Lang) {
		p.Lang = L.Lang()
	}
	return p, errs
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
		s.fail(w, r, http.StatusNotFound, "web.fail.gone")
		return nil, "", false
	}
	if err != nil {
		s.log.Error("link lookup failed", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "web.fail.internal")
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
		msg := "web.fail.link_invalid"
		code := http.StatusBadRequest
		if errors.Is(err, token.ErrExpired) {
			msg = "web.fail.link_expired"
			code = http.StatusGone
		}
		s.fail(w, r, code, msg)
		return "", "", false
	}
	return id, purpose, true
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.Error(what, "err", err)
	s.fail(w, r, http.StatusInternalServerError, "web.fail.internal")
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
		s.fail(w, r, http.StatusForbidden, "web.fail.unsub_expired")
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

// fail answers with a page saying one thing: the catalogue's message id.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, id string) {
	s.render(w, r, code, "message", map[string]any{"Message": s.printer(r, nil).T(id)})
}

// printer is the page's language (see pageLang); sub is the reader the
// page is about, or nil.
func (s *Server) printer(r *http.Request, sub *subscriptions.Subscriber) locale.P {
	return locale.For(pageLang(r, sub))
}

// readerOf finds the reader a page is about, whose language it speaks
// unless the browser chose another.
func readerOf(data any) *subscriptions.Subscriber {
	switch d := data.(type) {
	case *managePage:
		return d.Sub
	case *archivePage:
		return d.Sub
	case map[string]any:
		if sub, ok := d["Sub"].(*subscriptions.Subscriber); ok {
			return sub
		}
		if p, ok := d["Pending"].(*signup.Pending); ok {
			if p.Lang != "" {
				// What this link confirms was chosen in that language.
				return &subscriptions.Subscriber{Lang: p.Lang}
			}
			return p.Reader
		}
	}
	return nil
}

// render writes a page; each one gets a fresh nonce, and only a script
// carrying it may run.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, data any) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	nonce := base64.StdEncoding.EncodeToString(b[:])
	L := s.printer(r, readerOf(data))
	var title string
	if name == "message" {
		title = L.T(statusTitle(code))
	} else {
		title = L.T("web.title." + name)
	}
	site := cmp.Or(s.SiteName, "Herald")
	var page bytes.Buffer
	err := pages.ExecuteTemplate(&page, name, pageData{Nonce: nonce, Site: site, Operator: s.Operator, Title: title,
		L: L, Langs: switchLinks(r, L.Lang()), Data: data})
	if err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", basePolicy+"; script-src 'nonce-"+nonce+"'; connect-src 'self'")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", L.Lang())
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Accept-Language, Cookie")
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		w.Write(page.Bytes())
	}
}

type pageData struct {
	Nonce          string
	Site, Operator string
	Title          string // what the page is, before the site's name
	L              locale.P
	Langs          []langLink // the language switch
	Data           any
}

// statusTitle names a message page by its status, so that a reader with
// several tabs open can tell them apart.
func statusTitle(code int) string {
	switch code {
	case 400, 403, 404, 409, 410, 429, 500, 503:
		return "web.status." + strconv.Itoa(code)
	}
	return "web.status.other"
}
