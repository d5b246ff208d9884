package web_test

import (
	"cmp"
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/mailer"
	"github.com/herald-news/herald/mailer/smtptest"
	"github.com/herald-news/herald/signup"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/web"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// site is the web pages and the mailer on a real Redis and a real SMTP
// server, with a clock the test moves.
type site struct {
	st    *store.Store
	subs  *subscriptions.Store
	smtp  *smtptest.Server
	m     *mailer.Mailer
	web   *web.Server
	su    *signup.Registrar
	http  *httptest.Server
	clock *clock
	base  string
	// client is the visitor's browser as far as cookies go.
	client *http.Client
}

func newSite(t *testing.T) *site {
	s := &site{st: storetest.New(t), smtp: smtptest.New(t), clock: &clock{t: time.Now()}}
	s.subs = subscriptions.NewStore(s.st)
	s.http = httptest.NewServer(nil)
	t.Cleanup(s.http.Close)
	s.base = s.http.URL
	tr, err := mailer.NewSMTP(s.smtp.URL(), "Herald <news@herald.test>")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	s.m = mailer.New(s.st, s.subs, tr, s.base, []byte("web-test-secret"), log)
	s.m.Now = s.clock.Now
	su := signup.New(s.st, s.subs, s.m, log)
	su.Now = s.clock.Now
	s.su = su
	s.web = web.New(s.st, s.subs, su, []byte("web-test-secret"), nil, log)
	s.web.Now = s.clock.Now
	s.web.PublicURL = s.base
	s.http.Config.Handler = s.web.Handler()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	s.client = &http.Client{Jar: jar}
	// Confirmations go out through the mailer's queue, as in the email role.
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); s.m.RunConfirmations(ctx) }()
	t.Cleanup(func() { cancel(); <-ran })
	t.Cleanup(s.web.Wait)
	return s
}

// publish stores an article as the watcher does (with its place among the
// week's recent ones) and queues it for every active email reader whose
// topic matches, as the matcher does.
func (s *site) publish(t *testing.T, slug, title, text string) {
	t.Helper()
	s.publishWith(t, slug, title, text, nil)
}

// publishWith is publish with a chance to change the article first (its
// story, source, time) with edit.
func (s *site) publishWith(t *testing.T, slug, title, text string, edit func(*article.Article)) {
	t.Helper()
	ctx := context.Background()
	u := "https://news.example/" + slug
	pub := s.clock.Now().Add(-10 * time.Minute).UTC()
	a := article.Article{ID: article.IDFor(u), URL: u, Title: title, Published: &pub, Source: "Example Wire", Summary: text, Text: text}
	if edit != nil {
		edit(&a)
	}
	b, _ := json.Marshal(a)
	if err := s.st.Redis.Set(ctx, articles.Key(s.st, a.ID), b, 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.st.Redis.ZAdd(ctx, articles.RecentKey(s.st), redis.Z{Score: float64(pub.Unix()), Member: a.ID})
	doc := subscriptions.NewDoc(a.Title, a.URL, articles.MatchText(&a))
	err := s.subs.Scan(ctx, func(sub *subscriptions.Subscriber) error {
		if sub.Kind != subscriptions.KindEmail || !sub.Active() {
			return nil
		}
		for _, topic := range sub.Topics {
			q, err := subscriptions.Parse(topic)
			if err == nil && q.Match(doc) {
				item := delivery.Digest{Sub: sub.ID, Item: delivery.Item{Article: a.ID, Topic: topic, At: s.clock.Now()}}
				_, _, err := delivery.EnqueueBatch(ctx, s.st, cmp.Or(a.StoryID, a.ID), nil, []delivery.Digest{item})
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

var (
	formRe  = regexp.MustCompile(`name="(form|csrf)" value="([^"]+)"`)
	tokenRe = regexp.MustCompile(`<form method="post" action="/confirm">\s*<input type="hidden" name="token" value="([^"]+)"`)
)

// confirm opens a confirmation link as a person does: the page, then its
// button. It returns the button's answer.
func (s *site) confirm(t *testing.T, link string) (int, string) {
	t.Helper()
	code, page := s.get(t, link)
	if code != 200 {
		t.Fatalf("GET %s = %d:\n%s", link, code, page)
	}
	m := tokenRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no confirm button in the page:\n%s", page)
	}
	return s.post(t, s.base+"/confirm", url.Values{"token": {html.UnescapeString(m[1])}})
}

// get fetches a page with the visitor's cookies and returns its status
// and body.
func (s *site) get(t *testing.T, u string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s.do(t, req)
}

// do sends a request with the visitor's cookies and returns the answer's
// status and body.
func (s *site) do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post sends a form with the visitor's cookies, as a browser does from
// the site's own page (with its Origin).
func (s *site) post(t *testing.T, u string, v url.Values) (int, string) {
	t.Helper()
	return s.postFrom(t, s.base, u, v)
}

// postFrom posts a form naming origin as its Origin ("" for none, as a
// client that is not a browser sends; "referer URL" for a Referer alone).
func (s *site) postFrom(t *testing.T, origin, u string, v url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if referer, ok := strings.CutPrefix(origin, "referer "); ok {
		req.Header.Set("Referer", referer)
	} else if origin != "" {
		req.Header.Set("Origin", origin)
	}
	return s.do(t, req)
}

// hidden returns the value of the form's token field in a page.
func hidden(t *testing.T, page string) string {
	t.Helper()
	m := formRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form token in page:\n%s", page)
	}
	return html.UnescapeString(m[2])
}

func contains(t *testing.T, what, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}
