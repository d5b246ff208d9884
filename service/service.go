// Package service wires Herald's stages into one process: it opens Redis,
// builds the roles asked for (watcher, matcher, telegram, email, web), runs
// them until the context ends and shuts them down in order. cmd/herald and
// the end-to-end tests start the very same wiring.
package service

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/bot"
	"github.com/herald-news/herald/bounce"
	"github.com/herald-news/herald/config"
	"github.com/herald-news/herald/fetch"
	"github.com/herald-news/herald/mailer"
	"github.com/herald-news/herald/matcher"
	"github.com/herald-news/herald/signup"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/summary"
	"github.com/herald-news/herald/watcher"
	"github.com/herald-news/herald/web"
)

// Roles a process can take.
var AllRoles = []string{"watcher", "matcher", "telegram", "email", "web"}

// Version is set at build time with -ldflags "-X …/service.Version=…".
var Version = "dev"

// ParseRoles reads a comma-separated role list.
func ParseRoles(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" || s == "all" {
		return AllRoles, nil
	}
	var out []string
	for _, r := range strings.Split(s, ",") {
		r = strings.TrimSpace(r)
		if !slices.Contains(AllRoles, r) {
			return nil, fmt.Errorf("unknown role %q (roles: %s)", r, strings.Join(AllRoles, ","))
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// Options are what a Service is built from. Only Config is required.
type Options struct {
	Config config.Config
	Roles  []string
	Log    *slog.Logger

	// TelegramTransport replaces the Bot API for sending (the demo's outbox).
	TelegramTransport bot.Transport
	// MailTransport replaces SMTP (the demo's outbox).
	MailTransport mailer.Transport
	// DigestTick is how often due digests are looked for (default 30s).
	DigestTick time.Duration
	// Now is the clock of the mailer and web pages.
	Now func() time.Time
	// Listener, when set, is used instead of listening on HTTPAddr.
	Listener net.Listener
	// BounceListener, when set, is used instead of listening on
	// BounceAddr (with HERALD_BOUNCE_DOMAIN set).
	BounceListener net.Listener
	// Store, when set, is used instead of opening Config.RedisURL (the
	// demo shares its embedded Redis with its own feeds and subscribers).
	Store *store.Store
}

// Service is one running Herald process.
type Service struct {
	opts     Options
	cfg      config.Config
	log      *slog.Logger
	st       *store.Store
	ownStore bool
	reg      *prometheus.Registry
	m        *metrics
	secret   []byte
	consumer string

	Subs    *subscriptions.Store
	Watcher *watcher.Watcher
	Matcher *matcher.Matcher
	Bot     *bot.Bot
	Sender  *bot.Sender
	Mailer  *mailer.Mailer
	Signup  *signup.Registrar
	Web     *web.Server
	// Bounces takes DSNs and complaints over SMTP, in the email role
	// with HERALD_BOUNCE_ADDR set.
	Bounces *bounce.Server

	listener  net.Listener
	bounceLn  net.Listener
	summaries *summary.Summarizer

	// roles are what Run starts and supervises, built by New from the
	// roles asked for.
	roles []role
	sv    *supervisor
}

// summarize gives the summary of an article for a topic: computed once per
// article (and per topic when the topic changes it), cached in Redis, and
// shared by the Telegram and email senders.
func (s *Service) summarize(ctx context.Context, a *article.Article, topic string) string {
	var terms []string
	if q, err := subscriptions.Parse(topic); err == nil {
		terms = q.Terms()
	}
	text, err := s.summaries.For(ctx, a, terms)
	if err != nil || text == "" {
		return a.Summary
	}
	return text
}

// New builds a Service; it does not wait for Redis, Telegram or SMTP to
// answer, so a peer that is down does not stop start-up.
func New(opts Options) (*Service, error) {
	cfg := opts.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(opts.Roles) == 0 {
		opts.Roles = AllRoles
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{opts: opts, cfg: cfg, log: opts.Log, reg: prometheus.NewRegistry()}
	host, _ := os.Hostname()
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	s.consumer = fmt.Sprintf("%s-%d-%x", host, os.Getpid(), rnd)

	s.secret = []byte(cfg.Secret)
	if len(s.secret) == 0 {
		if !cfg.Embedded() {
			return nil, &config.Error{Var: "HERALD_SECRET", Msg: "is required (a long random string that signs email links)"}
		}
		s.secret = make([]byte, 32)
		_, _ = rand.Read(s.secret)
	}

	if opts.Store != nil {
		s.st = opts.Store
	} else {
		st, err := store.Open(cfg.RedisURL, cfg.KeyPrefix)
		if err != nil {
			return nil, &config.Error{Var: "HERALD_REDIS_URL", Msg: cfg.Scrub(err.Error())}
		}
		s.st, s.ownStore = st, true
	}
	if s.st.Embedded {
		s.log.Warn("HERALD_REDIS_URL is memory://: everything is kept in this process and lost when it exits")
	}
	s.Subs = subscriptions.NewStore(s.st)
	s.m = newMetrics(s.reg, s.st, cfg.PollInterval)
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	ua := "Herald/" + Version + " (+" + cfg.PublicURL + ")"
	f := fetch.New(fetch.Options{UserAgent: ua, AllowPrivate: cfg.AllowPrivateFeeds})
	s.Watcher = watcher.New(s.st, f, cfg.PollInterval, s.log.With("role", "watcher"))
	s.Watcher.Published = s.m.published.Add
	s.Watcher.Fetched = s.m.fetched
	s.Watcher.Joined = s.m.storiesJoined.Inc
	// WebSub: hubs call back under the public URL, each feed with its own
	// secret derived from the service secret.
	s.Watcher.PublicURL, s.Watcher.Secret = cfg.PublicURL, s.secret
	s.Matcher = matcher.New(s.st, s.Subs, s.log.With("role", "matcher"))
	s.Matcher.Consumer = s.consumer
	s.Matcher.ClaimAfter = cfg.ClaimAfter
	s.Matcher.Partition, s.Matcher.Partitions = cfg.MatcherPartition, cfg.MatcherPartitions
	if cfg.MatcherSnapshotDir != "" {
		s.Matcher.SnapshotPath = filepath.Join(cfg.MatcherSnapshotDir, fmt.Sprintf("matcher-%d-of-%d.snap", cfg.MatcherPartition, max(cfg.MatcherPartitions, 1)))
	}
	s.Matcher.Matched = func(kind string) { s.m.matched.WithLabelValues(kind).Inc() }

	var llm *summary.LLM
	if cfg.LLMURL != "" {
		var err error
		llm, err = summary.NewLLM(summary.LLMConfig{URL: cfg.LLMURL, Model: cfg.LLMModel, Key: cfg.LLMKey})
		if err != nil {
			return nil, &config.Error{Var: "HERALD_LLM_URL", Msg: cfg.Scrub(err.Error())}
		}
	}
	s.summaries = summary.NewSummarizer(s.st, llm)
	s.summaries.Logger = s.log.With("role", "summary")

	if s.has("telegram") {
		tr := opts.TelegramTransport
		if cfg.TelegramToken != "" {
			b, err := bot.New(cfg.TelegramToken, cfg.TelegramAPIURL, s.st, s.Subs, cfg.TelegramAdmins, s.log.With("role", "telegram"))
			if err != nil {
				return nil, &config.Error{Var: "HERALD_TELEGRAM_TOKEN", Msg: cfg.Scrub(err.Error())}
			}
			b.Consumer = s.consumer
			b.Feeds = botFeeds{s.Watcher}
			b.PublicURL = cfg.PublicURL
			// Replies count against the same Redis-held budget as alerts.
			b.Limiter = bot.NewLimiter(s.st, cfg.TelegramRate)
			if cfg.TelegramWebhookURL != "" {
				b.WebhookURL, b.WebhookSecret = cfg.TelegramWebhookURL, webhookSecret(cfg, s.secret)
			}
			s.Bot = b
			if tr == nil {
				tr = &bot.APITransport{API: b.API(), Previews: cfg.TelegramLinkPreviews, Paid: cfg.TelegramPaidBroadcast}
			}
		}
		if tr != nil {
			s.Sender = bot.NewSender(s.st, s.Subs, tr, s.log.With("role", "telegram"))
			s.Sender.Rate = cfg.TelegramRate
			s.Sender.Consumer = s.consumer
			s.Sender.ClaimAfter = cfg.ClaimAfter
			s.Sender.Sent = func(int64, string) { s.m.telegramSent.Inc() }
			s.Sender.Trouble = func(kind string) { s.m.telegramTrouble.WithLabelValues(kind).Inc() }
			s.Sender.Summarize = s.summarize
		} else {
			s.log.Info("telegram off: HERALD_TELEGRAM_TOKEN is not set")
		}
	}

	mt := opts.MailTransport
	if mt == nil && cfg.SMTPURL != "" {
		smtp, err := mailer.NewSMTP(cfg.SMTPURL, cfg.MailFrom)
		if err != nil {
			return nil, &config.Error{Var: "HERALD_SMTP_URL", Msg: cfg.Scrub(err.Error())}
		}
		if cfg.DKIMDomain != "" {
			d, err := mailer.NewDKIM(cfg.DKIMDomain, cfg.DKIMSelector, cfg.DKIMKeyFile)
			if err != nil {
				return nil, &config.Error{Var: "HERALD_DKIM_KEY_FILE", Msg: err.Error()}
			}
			smtp.DKIM = d
		}
		smtp.HELO = cfg.HELO()
		if cfg.BounceDomain != "" {
			smtp.Returns = bounce.NewSigner(s.secret, cfg.BounceDomain)
		}
		mt = smtp
	}
	if mt != nil {
		s.Mailer = mailer.New(s.st, s.Subs, mt, cfg.PublicURL, s.secret, s.log.With("role", "email"))
		s.Mailer.Now = opts.Now
		s.Mailer.Connections = cfg.MailConnections
		s.Mailer.Rate = cfg.MailRate
		s.Mailer.Sent = func(*mailer.Message) { s.m.emailsSent.Inc() }
		s.Mailer.SiteName, s.Mailer.Operator = cfg.SiteName, cfg.Operator
		s.Mailer.Noted = s.m.noted
		if s.has("email") && (cfg.BounceAddr != "" || opts.BounceListener != nil) && cfg.BounceDomain != "" {
			s.Bounces = &bounce.Server{Signer: bounce.NewSigner(s.secret, cfg.BounceDomain), Recorder: s.Mailer,
				Log: s.log.With("role", "bounce"), Now: time.Now,
				Refused: func(reason string) { s.m.bounceRefused.WithLabelValues(reason).Inc() }}
		}
		s.Signup = signup.New(s.st, s.Subs, s.Mailer, s.log.With("role", "email"))
		s.Signup.Now = opts.Now
		// /email in the bot links a chat to digests once mail can be sent.
		if s.Bot != nil {
			s.Bot.Email = s.Signup
		}
		s.Mailer.Summarize = s.summarize
	} else if s.has("email") || s.has("web") {
		s.log.Info("email off: HERALD_SMTP_URL is not set")
	}
	s.Web = web.New(s.st, s.Subs, s.Signup, s.secret, s.reg, s.log.With("role", "web"))
	s.Web.Now = opts.Now
	s.Web.PublicURL, s.Web.SiteName, s.Web.Operator = cfg.PublicURL, cfg.SiteName, cfg.Operator
	s.Web.Summarize = s.summarize
	s.Web.Sources = s.webSources
	s.roles = s.roleList()
	s.sv = newSupervisor()
	return s, nil
}

// roleList is the long-running parts of the roles asked for.
func (s *Service) roleList() []role {
	var rs []role
	if s.has("watcher") {
		rs = append(rs, role{"watcher", s.Watcher.Run})
	}
	if s.has("matcher") {
		rs = append(rs, role{"matcher", s.Matcher.Run})
	}
	if s.has("telegram") {
		if s.Bot != nil {
			rs = append(rs, role{"telegram-bot", s.Bot.Run})
		}
		if s.Sender != nil {
			rs = append(rs, role{"telegram-sender", s.Sender.Run})
		}
	}
	if s.has("email") && s.Mailer != nil {
		tick := s.opts.DigestTick
		if tick <= 0 {
			tick = cmp.Or(s.cfg.DigestInterval, 30*time.Second)
		}
		rs = append(rs, role{"email", func(ctx context.Context) error { return s.Mailer.Run(ctx, tick) }})
		if s.Bounces != nil {
			rs = append(rs, role{"bounce", func(ctx context.Context) error { return s.Bounces.Serve(ctx, s.bounceLn) }})
		}
	}
	return rs
}

func (s *Service) has(role string) bool { return slices.Contains(s.opts.Roles, role) }

// Store is the Redis the service uses.
func (s *Service) Store() *store.Store { return s.st }

// Addr is where the HTTP server listens, once Run has started it.
func (s *Service) Addr() string {
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// BounceAddr is where the bounce listener listens, once Listen has opened
// it ("" without one).
func (s *Service) BounceAddr() string {
	if s.bounceLn == nil {
		return ""
	}
	return s.bounceLn.Addr().String()
}

// Listen opens the HTTP listener and, in the email role with
// HERALD_BOUNCE_ADDR, the bounce listener; Run calls it when it has not
// been called.
func (s *Service) Listen() error {
	if s.Bounces != nil && s.bounceLn == nil {
		if s.opts.BounceListener != nil {
			s.bounceLn = s.opts.BounceListener
		} else {
			l, err := net.Listen("tcp", s.cfg.BounceAddr)
			if err != nil {
				return &config.Error{Var: "HERALD_BOUNCE_ADDR", Msg: err.Error()}
			}
			s.bounceLn = l
		}
	}
	if s.listener != nil {
		return nil
	}
	if s.opts.Listener != nil {
		s.listener = s.opts.Listener
		return nil
	}
	l, err := net.Listen("tcp", s.cfg.HTTPAddr)
	if err != nil {
		if s.bounceLn != nil {
			s.bounceLn.Close()
		}
		return &config.Error{Var: "HERALD_HTTP_ADDR", Msg: err.Error()}
	}
	s.listener = l
	return nil
}

// Run starts the roles and the HTTP server and blocks until ctx ends or a
// role dies, then stops taking work, lets work in hand finish (or hands it
// back through the queues' pending entries) and returns within 10 seconds.
// It returns nil after a shutdown asked for by ctx, and the dead role's
// error otherwise: the process must then exit non-zero, so that whatever
// supervises it starts it again whole.
func (s *Service) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	if err := s.checkRedis(ctx); err != nil {
		s.listener.Close()
		if s.bounceLn != nil {
			s.bounceLn.Close()
		}
		return err
	}
	for _, f := range s.cfg.Feeds {
		s.addFeedWhenReady(ctx, f)
	}
	work, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	for _, r := range s.roles {
		s.sv.start(work, r, s.log.Error)
	}
	srv := &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(s.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped; stopping the process", "err", err)
			s.sv.down("http", fmt.Errorf("http server stopped: %w", err))
		}
	}()
	s.log.Info("herald running", "roles", strings.Join(s.opts.Roles, ","), "http", s.listener.Addr().String(), "version", Version)

	select {
	case <-ctx.Done():
		s.log.Info("shutting down")
	case <-s.sv.failed:
		s.log.Error("shutting down because a role died", "err", s.sv.failure())
	}
	s.sv.shutdown()
	shut, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	// The roles stop first and the HTTP server last, so that /healthz
	// answers 503 (not a refused connection) while they wind down.
	stop()
	if !waitFor(shut, s.sv.wg.Wait) {
		s.log.Warn("some work did not stop in time; its queue entries will be claimed again")
	}
	if err := srv.Shutdown(shut); err != nil {
		srv.Close()
	}
	<-served
	// Confirmation emails a sign-up started after answering its page.
	if !waitFor(shut, s.Web.Wait) {
		s.log.Warn("some sign-up emails were not handed over in time")
	}
	return s.sv.failure()
}

// waitFor runs wait and reports whether it returned before ctx ended.
func waitFor(ctx context.Context, wait func()) bool {
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// checkRedis stops start-up when Redis refuses herald's credentials: no
// amount of waiting fixes a wrong or missing password. A Redis that does
// not answer yet is left to the roles, which retry until it does.
func (s *Service) checkRedis(ctx context.Context) error {
	c, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err := s.st.Ping(c)
	if err == nil || !store.IsAuthError(err) {
		return nil
	}
	return &config.Error{Var: "HERALD_REDIS_URL", Msg: fmt.Sprintf("Redis at %s refused herald's credentials (%v); give the right user and password in the URL", config.Redact(s.cfg.RedisURL), err)}
}

// handler serves the web pages only in the web role; health and metrics
// are always there.
func (s *Service) handler() http.Handler {
	inner := s.routes()
	if s.Bot == nil || s.cfg.TelegramWebhookURL == "" {
		return s.withHealth(inner)
	}
	// Telegram posts updates to the webhook path on whichever process
	// serves HERALD_TELEGRAM_WEBHOOK_URL; the handler checks the secret.
	hook := s.Bot.WebhookHandler()
	path := "/"
	if u, err := url.Parse(s.cfg.TelegramWebhookURL); err == nil && u.Path != "" {
		path = u.Path
	}
	return s.withHealth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == path {
			hook.ServeHTTP(w, r)
			return
		}
		inner.ServeHTTP(w, r)
	}))
}

// withHealth answers GET /healthz from the supervisor, which knows whether
// every role still runs; the rest goes to next.
func (s *Service) withHealth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			s.sv.healthz(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// webhookSecret is HERALD_TELEGRAM_WEBHOOK_SECRET, or one derived from
// HERALD_SECRET so that every process computes the same.
func webhookSecret(cfg config.Config, secret []byte) string {
	if cfg.TelegramWebhookSecret != "" {
		return cfg.TelegramWebhookSecret
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("herald telegram webhook"))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Service) routes() http.Handler {
	h := s.Web.Handler()
	// WebSub hub callbacks reach whichever process serves HERALD_PUBLIC_URL;
	// the subscription state is in Redis, so any process can answer.
	websub := s.Watcher.WebSubHandler()
	if s.has("web") {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, watcher.WebSubPath) {
				websub.ServeHTTP(w, r)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, watcher.WebSubPath) {
			websub.ServeHTTP(w, r)
			return
		}
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			h.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}

// addFeedWhenReady adds a feed from HERALD_FEEDS, retrying in the
// background while Redis is not answering.
func (s *Service) addFeedWhenReady(ctx context.Context, u string) {
	try := func() bool {
		c, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		_, err := s.Watcher.AddFeed(c, u, 0, 0) // HERALD_FEEDS names feeds: nothing to discover
		if err != nil && ctx.Err() == nil {
			s.log.Warn("cannot add feed from HERALD_FEEDS yet", "feed", u, "err", err)
			return false
		}
		return true
	}
	if try() {
		return
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * time.Second):
			}
			if try() {
				return
			}
		}
	}()
}

// Close releases the Redis connection (and stops an embedded Redis).
func (s *Service) Close() error {
	if s.ownStore {
		return s.st.Close()
	}
	return nil
}

// webSources lists the watched feeds for the sign-up page, by the name a
// reader knows them by.
func (s *Service) webSources(ctx context.Context) ([]web.Source, error) {
	feeds, err := s.Watcher.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]web.Source, 0, len(feeds))
	for _, f := range feeds {
		name := f.Title
		if name == "" {
			if u, err := url.Parse(cmp.Or(f.Site, f.URL)); err == nil {
				name = strings.TrimPrefix(u.Hostname(), "www.")
			}
		}
		out = append(out, web.Source{Name: name, URL: f.Site})
	}
	return out, nil
}
