package watcher_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/watcher"
)

// hub is a WebSub hub double: it takes subscription requests and then
// verifies the subscriber's intent, as a real hub does.
type hub struct {
	*httptest.Server
	mu       sync.Mutex
	requests []url.Values
	verified chan verification
	quiet    bool // take requests without verifying them; the test calls verify
}

type verification struct {
	status int
	body   string
}

func newHub(t *testing.T) *hub { return startHub(t, false) }

// newQuietHub is a hub that verifies only when the test calls verify.
func newQuietHub(t *testing.T) *hub { return startHub(t, true) }

func startHub(t *testing.T, quiet bool) *hub {
	h := &hub{verified: make(chan verification, 10), quiet: quiet}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		form := r.PostForm
		h.mu.Lock()
		h.requests = append(h.requests, form)
		h.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		if !h.quiet {
			go func() { h.verified <- h.verify(form, "subscribe") }()
		}
	}))
	t.Cleanup(h.Close)
	return h
}

// verify sends the intent verification of a subscription request, as the
// hub that got it does.
func (h *hub) verify(form url.Values, mode string) verification {
	q := url.Values{"hub.mode": {mode}, "hub.topic": {form.Get("hub.topic")},
		"hub.challenge": {"chal-123"}, "hub.lease_seconds": {"3600"}}
	return get(form.Get("hub.callback") + "?" + q.Encode())
}

func get(u string) verification {
	resp, err := http.Get(u)
	if err != nil {
		return verification{status: -1, body: err.Error()}
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return verification{resp.StatusCode, string(b)}
}

func (h *hub) last() url.Values {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.requests) == 0 {
		return nil
	}
	return h.requests[len(h.requests)-1]
}

func sign(newHash func() hash.Hash, method string, secret, body []byte) string {
	m := hmac.New(newHash, secret)
	m.Write(body)
	return method + "=" + hex.EncodeToString(m.Sum(nil))
}

func TestWebSubVerificationAndSignedDelivery(t *testing.T) {
	st := storetest.New(t)
	c := &clock{t: time.Now()}
	w := newWatcher(t, st, time.Minute)
	w.Complete = nil
	w.Now = c.Now
	callback := httptest.NewServer(w.WebSubHandler())
	t.Cleanup(callback.Close)
	w.PublicURL, w.Secret = callback.URL, []byte("service secret")
	h := newHub(t)
	s := newSite(t, "Pushed")
	s.set(func(s *site) { s.extra = `<atom:link rel="hub" href="` + h.URL + `"/>` })
	ctx := context.Background()
	f := addAndPoll(t, w, s.URL+"/feed.xml", 0)

	var v verification
	select {
	case v = <-h.verified:
	case <-time.After(30 * time.Second):
		t.Fatal("the hub got no subscription request")
	}
	form := h.last()
	if v.status != 200 || v.body != "chal-123" {
		t.Fatalf("verification answered %d %q, want the challenge echoed", v.status, v.body)
	}
	token, ok := strings.CutPrefix(form.Get("hub.callback"), callback.URL+"/websub/"+f.ID+"/")
	if form.Get("hub.topic") != f.URL || !ok || len(token) != 32 || form.Get("hub.secret") == "" {
		t.Fatalf("subscription request %v", form)
	}
	f, _ = w.Get(ctx, f.ID)
	if f.WebSub != "active" || f.WebSubUntil.Sub(c.Now()) < 59*time.Minute {
		t.Fatalf("after verification: state %q until %s", f.WebSub, f.WebSubUntil)
	}

	if v := h.verify(form, "subscribe"); v.status != http.StatusNotFound {
		t.Errorf("the same verification again answered %d %q, want 404: it was answered already", v.status, v.body)
	}

	post := func(body []byte, sig string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, callback.URL+"/websub/"+f.ID, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/rss+xml")
		if sig != "" {
			req.Header.Set("X-Hub-Signature", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	secret := []byte(form.Get("hub.secret"))
	waitFor := func(n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for len(streamed(t, st)) < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d articles published, want %d", len(streamed(t, st)), n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	s.publish("forged", "Forged", longText("forged"))
	forged := []byte(s.feedXML())
	if code := post(forged, sign(sha256.New, "sha256", []byte("wrong key"), forged)); code/100 != 2 {
		t.Fatalf("forged delivery answered %d; WebSub asks for 2xx and the content dropped", code)
	}
	post(forged, "")
	s.set(func(s *site) { s.items = s.items[1:] })

	s.publish("pushed", "Pushed", longText("pushed"))
	body := []byte(s.feedXML())
	if code := post(body, sign(sha256.New, "sha256", secret, body)); code != http.StatusAccepted {
		t.Fatalf("signed delivery answered %d", code)
	}
	waitFor(1)
	s.publish("pushed-sha1", "Pushed again", longText("again"))
	body = []byte(s.feedXML())
	post(body, sign(sha1.New, "sha1", secret, body))
	waitFor(2)
	for _, a := range streamed(t, st) {
		if a.Title == "Forged" {
			t.Fatal("content with a bad signature was published")
		}
	}
	// A poll of the same items publishes nothing twice.
	if err := w.Poll(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if got := streamed(t, st); len(got) != 2 {
		t.Fatalf("%d published after the poll, want 2", len(got))
	}

	t.Run("lease renewed before it ends", func(t *testing.T) {
		c.Add(30 * time.Minute)
		h.mu.Lock()
		n := len(h.requests)
		h.mu.Unlock()
		if err := w.Poll(ctx, f.ID); err != nil {
			t.Fatal(err)
		}
		select {
		case v := <-h.verified:
			if v.status != 200 {
				t.Fatalf("renewal verification %d", v.status)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no renewal (%d requests before)", n)
		}
	})
}

func TestWebSubHandlerWithoutSecretIsOff(t *testing.T) {
	st := storetest.New(t)
	w := newWatcher(t, st, time.Minute)
	rec := httptest.NewRecorder()
	w.WebSubHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/websub/abc?hub.challenge=x", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("callback answered %d with WebSub off", rec.Code)
	}
	_ = watcher.WebSubPath
}
