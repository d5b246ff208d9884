package watcher_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-news/herald/fetch"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/watcher"
)

// webSubFeed is a watched feed with WebSub on and a callback server, and
// the hub its feed names.
func webSubFeed(t *testing.T, st *store.Store, h *hub) (*watcher.Watcher, *watcher.Feed, *httptest.Server) {
	t.Helper()
	w := newWatcher(t, st, time.Minute)
	w.Complete = nil
	callback := httptest.NewServer(w.WebSubHandler())
	t.Cleanup(callback.Close)
	w.PublicURL, w.Secret = callback.URL, []byte("service secret")
	s := newSite(t, "Pushed")
	if h != nil {
		s.set(func(s *site) { s.extra = `<atom:link rel="hub" href="` + h.URL + `"/>` })
	}
	return w, addAndPoll(t, w, s.URL+"/feed.xml", 0), callback
}

// A verification GET that does not answer the request Herald is waiting
// on is refused and changes nothing: not without the callback's token, not
// with another token, topic or mode, not once the request was answered.
func TestWebSubForgedVerificationChangesNothing(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	h := newQuietHub(t)
	_, f, callback := webSubFeed(t, st, h)
	form := h.last()
	if form == nil {
		t.Fatal("no subscription request reached the hub")
	}
	feedKey := st.Key("feed", f.ID)
	before := st.Redis.HGetAll(ctx, feedKey).Val()
	if before["websub_state"] != "pending" {
		t.Fatalf("state %q after the request, want pending", before["websub_state"])
	}
	real := form.Get("hub.callback")
	token := real[strings.LastIndexByte(real, '/')+1:]
	base := callback.URL + "/websub/" + f.ID
	forged := func(path, mode, topic string) string {
		return path + "?" + url.Values{"hub.mode": {mode}, "hub.topic": {topic}, "hub.challenge": {"forged"}, "hub.lease_seconds": {"31536000"}}.Encode()
	}
	cases := map[string]string{
		"no token":           forged(base, "subscribe", f.URL),
		"no token, denied":   forged(base, "denied", f.URL),
		"another token":      forged(base+"/"+strings.Repeat("0", 32), "subscribe", f.URL),
		"short token":        forged(base+"/"+token[:8], "subscribe", f.URL),
		"token, other topic": forged(real, "subscribe", "https://evil.example/feed"),
		"token, unsubscribe": forged(real, "unsubscribe", f.URL),
		"unknown feed":       forged(callback.URL+"/websub/0123456789abcdef/"+token, "subscribe", f.URL),
	}
	check := func(when string) {
		t.Helper()
		for name, u := range cases {
			if v := get(u); v.status != http.StatusNotFound || strings.Contains(v.body, "forged") {
				t.Errorf("%s, %s: %d %q, want 404 without the challenge", when, name, v.status, v.body)
			}
		}
		got := st.Redis.HGetAll(ctx, feedKey).Val()
		for _, k := range []string{"websub_state", "websub_until", "websub_topic", "websub_hub"} {
			if got[k] != before[k] {
				t.Errorf("%s: %s is %q, was %q", when, k, got[k], before[k])
			}
		}
	}
	check("while pending")

	if v := h.verify(form, "subscribe"); v.status != 200 || v.body != "chal-123" {
		t.Fatalf("the hub's own verification answered %d %q", v.status, v.body)
	}
	before = st.Redis.HGetAll(ctx, feedKey).Val()
	if before["websub_state"] != "active" {
		t.Fatalf("state %q after verification, want active", before["websub_state"])
	}
	// Answered: even the real callback is refused now (replay, or a
	// token that leaked).
	cases["replayed"] = forged(real, "subscribe", f.URL)
	cases["replayed, denied"] = forged(real, "denied", f.URL)
	check("once verified")
}

// 100 concurrent 10 MiB pushes without a signature, then 100 with a
// well-formed but wrong one, do not take the heap anywhere near their sum
// (2 GiB): unsigned ones are refused before their body is read, and
// signed ones are read only a few at a time.
func TestWebSubPushesDoNotExhaustMemory(t *testing.T) {
	st := storetest.New(t)
	_, f, callback := webSubFeed(t, st, nil)
	body := bytes.Repeat([]byte("<rss>"), fetch.DefaultMaxBody/5) // shared by every request: no copy each
	wrong := sign(sha256.New, "sha256", []byte("not the feed's secret"), body)

	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()

	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: 100}}
	defer client.CloseIdleConnections()
	codes := map[string]map[int]int{}
	var mu sync.Mutex
	for _, sig := range []string{"", wrong} {
		kind := map[string]string{"": "unsigned", wrong: "badly signed"}[sig]
		codes[kind] = map[int]int{}
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPost, callback.URL+"/websub/"+f.ID, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/rss+xml")
				if sig != "" {
					req.Header.Set("X-Hub-Signature", sig)
				}
				code := -1 // the server may answer and close before the whole body is sent
				if resp, err := client.Do(req); err == nil {
					code = resp.StatusCode
					resp.Body.Close()
				}
				mu.Lock()
				codes[kind][code]++
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	close(stop)
	<-sampled
	t.Logf("answers: %v; peak heap in use %d MiB", codes, peak.Load()>>20)
	if p := peak.Load(); p > 300<<20 {
		t.Errorf("peak heap in use %d MiB under 200 pushes of 10 MiB, want under 300 MiB", p>>20)
	}
	if codes["unsigned"][http.StatusAccepted]+codes["unsigned"][-1] != 100 {
		t.Errorf("unsigned pushes answered %v, want 202 (dropped)", codes["unsigned"])
	}
	if n := codes["badly signed"][http.StatusAccepted] + codes["badly signed"][http.StatusServiceUnavailable] + codes["badly signed"][-1]; n != 100 {
		t.Errorf("badly signed pushes answered %v, want 202 (dropped) or 503 (busy)", codes["badly signed"])
	}
	if got := streamed(t, st); len(got) != 0 {
		t.Errorf("%d articles published from unsigned or forged pushes", len(got))
	}
}

// The subscription request carries the feed's secret and the callback's
// token, so it is sent to https hubs only, or over http to a loopback or
// private address when private feeds are allowed (as here).
func TestWebSubHubMustBeHTTPS(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	h := newQuietHub(t)
	w, f, _ := webSubFeed(t, st, nil)
	for _, u := range []string{"http://hub.example/", "http://8.8.8.8/hub", "ftp://hub.example/"} {
		if err := w.Subscribe(ctx, f.ID, u, f.URL); err == nil {
			t.Errorf("subscribed at %s", u)
		}
	}
	strict := watcher.New(st, fetch.New(fetch.Options{UserAgent: "Herald-test"}), time.Minute, nil)
	strict.PublicURL, strict.Secret = w.PublicURL, w.Secret
	if err := strict.Subscribe(ctx, f.ID, h.URL, f.URL); err == nil {
		t.Errorf("subscribed at %s over http with private addresses refused", h.URL)
	}
	if h.last() != nil {
		t.Errorf("a hub refused for plain http got the request: %v", h.last())
	}
	if state := st.Redis.HGet(ctx, st.Key("feed", f.ID), "websub_state").Val(); state != "failed" {
		t.Errorf("state %q after refused subscriptions, want failed (tried again in an hour)", state)
	}
	if err := w.Subscribe(ctx, f.ID, h.URL, f.URL); err != nil || h.last() == nil {
		t.Errorf("loopback hub with private feeds allowed: %v", err)
	}
}
