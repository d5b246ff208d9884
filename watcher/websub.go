package watcher

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/herald-news/herald/feed"
	"github.com/herald-news/herald/fetch"
)

// WebSub (W3C Recommendation, 2018): a feed that names a hub is subscribed
// to, so the hub pushes new content to /websub/<feed id> within seconds.
// Polling goes on as the fallback. The subscription's state lives on the
// feed's hash, since the hub's verification request may reach any Herald
// process serving the web.
const (
	WebSubPath = "/websub/"
	// webSubLease is the lease asked for; hubs may grant less.
	webSubLease = 10 * 24 * time.Hour
	// webSubRenew: a subscription is renewed by the first poll that finds it
	// expiring within this margin.
	webSubRenew = time.Hour
	// webSubRetry: a request that was not verified is tried again after this.
	webSubRetry = time.Hour
	// webSubDeliveries bounds content deliveries processed at once; beyond
	// it the hub is told to retry later.
	webSubDeliveries = 4
	maxWebSubBody    = fetch.DefaultMaxBody
)

// Subscription states stored in websub_state.
const (
	webSubPending = "pending"
	webSubActive  = "active"
	webSubDenied  = "denied"
	webSubFailed  = "failed"
)

type websubState struct {
	once   sync.Once
	client *http.Client
	slots  chan struct{}
}

func (w *Watcher) webSubEnabled() bool { return w.PublicURL != "" && len(w.Secret) > 0 }

// webSubSecret is a feed's hub.secret: derived from HERALD_SECRET, so every
// Herald process can check signatures without storing it.
func (w *Watcher) webSubSecret(feedID string) []byte {
	m := hmac.New(sha256.New, w.Secret)
	m.Write([]byte("herald websub secret\x00" + feedID))
	return []byte(hex.EncodeToString(m.Sum(nil)))
}

func (w *Watcher) webSubCallback(feedID string) string {
	return strings.TrimSuffix(w.PublicURL, "/") + WebSubPath + feedID
}

func (w *Watcher) webSubLockKey(feedID string) string { return w.st.Key("websub", "lock", feedID) }

// hubClient posts to hubs. The hub's URL comes from a feed, so it gets the
// same dial-time address guard as fetching.
func (w *Watcher) hubClient() *http.Client {
	w.websub.once.Do(func() {
		allowPrivate := w.fetcher.Options().AllowPrivate
		d := &net.Dialer{Timeout: 10 * time.Second, Control: func(network, address string, _ syscall.RawConn) error {
			if allowPrivate {
				return nil
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			return fetch.CheckAddr(ap.Addr())
		}}
		w.websub.client = &http.Client{
			Timeout: 20 * time.Second,
			// No environment proxy: the guard must see the hub's address.
			Transport: &http.Transport{Proxy: nil, DialContext: d.DialContext, TLSHandshakeTimeout: 10 * time.Second},
			// A hub that redirects is not followed: the guard would not
			// see where, and hubs have no reason to.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	})
	return w.websub.client
}

// subscribeIfDue subscribes a feed to its hub when it has no subscription,
// its hub changed, its lease is about to end, or an earlier attempt was not
// verified an hour on. Failures are logged: polling goes on regardless.
func (w *Watcher) subscribeIfDue(ctx context.Context, f *Feed, hub string) {
	if !w.webSubEnabled() {
		return
	}
	now := w.Now()
	switch {
	case f.Hub != hub || f.WebSub == "":
	case f.WebSub == webSubActive && f.WebSubUntil.Sub(now) > webSubRenew:
		return
	case f.WebSub != webSubActive:
		m, err := w.st.Redis.HMGet(ctx, w.feedKey(f.ID), "websub_requested").Result()
		if err != nil || len(m) == 0 {
			return
		}
		if s, ok := m[0].(string); ok {
			if t, err := strconv.ParseInt(s, 10, 64); err == nil && now.Sub(time.Unix(t, 0)) < webSubRetry {
				return
			}
		}
	}
	if err := w.Subscribe(ctx, f.ID, hub, f.URL); err != nil && ctx.Err() == nil {
		w.log.Warn("websub subscription failed", "feed", f.URL, "hub", hub, "err", err)
	}
}

// Subscribe asks hub to push topic's updates to the feed's callback. The
// subscription is pending until the hub's verification request arrives.
func (w *Watcher) Subscribe(ctx context.Context, feedID, hub, topic string) error {
	hu, err := url.Parse(hub)
	if err != nil || (hu.Scheme != "http" && hu.Scheme != "https") || hu.Host == "" {
		return fmt.Errorf("websub hub %q is not an http(s) URL", hub)
	}
	// One process subscribes at a time; the others' polls skip it.
	ok, err := w.st.Redis.SetNX(ctx, w.webSubLockKey(feedID), 1, time.Minute).Result()
	if err != nil || !ok {
		return err
	}
	defer w.st.Redis.Del(context.WithoutCancel(ctx), w.webSubLockKey(feedID))
	// Pending before the request: a hub may verify before it answers.
	if err := w.st.Redis.HSet(ctx, w.feedKey(feedID), map[string]any{
		"websub_state": webSubPending, "websub_topic": topic, "websub_hub": hub,
		"websub_requested": w.Now().Unix(),
	}).Err(); err != nil {
		return err
	}
	form := url.Values{
		"hub.mode":          {"subscribe"},
		"hub.topic":         {topic},
		"hub.callback":      {w.webSubCallback(feedID)},
		"hub.secret":        {string(w.webSubSecret(feedID))},
		"hub.lease_seconds": {strconv.Itoa(int(webSubLease / time.Second))},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hub, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", w.fetcher.Options().UserAgent)
	resp, err := w.hubClient().Do(req)
	if err != nil {
		w.st.Redis.HSet(ctx, w.feedKey(feedID), "websub_state", webSubFailed)
		return fmt.Errorf("subscribe at %s: %w", hub, err)
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Only if the verification has not already made it active.
		w.st.Redis.HSet(ctx, w.feedKey(feedID), "websub_state", webSubFailed)
		return fmt.Errorf("subscribe at %s: HTTP %d", hub, resp.StatusCode)
	}
	w.log.Info("websub subscription requested", "feed", topic, "hub", hub)
	return nil
}

// WebSubHandler serves hub callbacks under WebSubPath: intent verification
// (GET) and content distribution (POST).
func (w *Watcher) WebSubHandler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, WebSubPath)
		if id == "" || strings.Contains(id, "/") || len(id) > 64 || !w.webSubEnabled() {
			http.NotFound(rw, r)
			return
		}
		switch r.Method {
		case http.MethodGet:
			w.verify(rw, r, id)
		case http.MethodPost:
			w.deliver(rw, r, id)
		default:
			rw.Header().Set("Allow", "GET, POST")
			http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
}

// verify answers a hub's intent verification: the challenge is echoed only
// for a subscription this feed asked for, so nobody can subscribe Herald to
// anything it did not want.
func (w *Watcher) verify(rw http.ResponseWriter, r *http.Request, id string) {
	q := r.URL.Query()
	mode, topic, challenge := q.Get("hub.mode"), q.Get("hub.topic"), q.Get("hub.challenge")
	ctx := r.Context()
	m, err := w.st.Redis.HMGet(ctx, w.feedKey(id), "url", "websub_topic", "websub_state").Result()
	if err != nil {
		http.Error(rw, "unavailable", http.StatusServiceUnavailable)
		return
	}
	str := func(i int) string { s, _ := m[i].(string); return s }
	feedURL, known, state := str(0), str(1), str(2)
	if feedURL == "" || known == "" || topic != known {
		http.NotFound(rw, r)
		return
	}
	switch mode {
	case "subscribe":
		if (state != webSubPending && state != webSubActive && state != webSubFailed) || challenge == "" {
			http.NotFound(rw, r)
			return
		}
		lease := webSubLease
		if s, err := strconv.ParseInt(q.Get("hub.lease_seconds"), 10, 64); err == nil && s > 0 {
			lease = min(time.Duration(s)*time.Second, 365*24*time.Hour)
		}
		if err := w.st.Redis.HSet(ctx, w.feedKey(id), map[string]any{
			"websub_state": webSubActive, "websub_until": w.Now().Add(lease).Unix(),
		}).Err(); err != nil {
			http.Error(rw, "unavailable", http.StatusServiceUnavailable)
			return
		}
		w.log.Info("websub subscription verified", "feed", feedURL, "lease", lease)
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(rw, challenge)
	case "denied":
		w.st.Redis.HSet(ctx, w.feedKey(id), "websub_state", webSubDenied)
		w.log.Warn("websub subscription denied by hub", "feed", feedURL, "reason", truncate(q.Get("hub.reason"), 200))
		rw.WriteHeader(http.StatusOK)
	default:
		// Herald never unsubscribes through the hub (a removed feed's lease
		// runs out), so any other intent is not ours.
		http.NotFound(rw, r)
	}
}

// deliver takes a hub's content distribution. Content is used only when its
// X-Hub-Signature is a valid HMAC of the body under the feed's secret; a
// forged or unsigned body is answered 2xx and dropped, as the WebSub
// recommendation asks (section 8), so a forger learns nothing.
func (w *Watcher) deliver(rw http.ResponseWriter, r *http.Request, id string) {
	ctx := r.Context()
	m, err := w.st.Redis.HMGet(ctx, w.feedKey(id), "url", "websub_topic").Result()
	if err != nil {
		http.Error(rw, "unavailable", http.StatusServiceUnavailable)
		return
	}
	if s, _ := m[0].(string); s == "" {
		// Gone tells the hub this subscription is over (the feed was removed).
		http.Error(rw, "not subscribed", http.StatusGone)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxWebSubBody))
	if err != nil {
		http.Error(rw, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	if !w.signatureValid(id, r.Header.Get("X-Hub-Signature"), body) {
		w.log.Warn("websub delivery with a bad signature dropped", "feed", id, "remote", r.RemoteAddr)
		rw.WriteHeader(http.StatusAccepted)
		return
	}
	select {
	case w.websub.slots <- struct{}{}:
	default:
		rw.Header().Set("Retry-After", "10")
		http.Error(rw, "busy", http.StatusServiceUnavailable)
		return
	}
	contentType := r.Header.Get("Content-Type")
	// Answered at once: full text may take longer than a hub waits. A crash
	// before this finishes loses nothing: the next poll finds the items.
	go func() {
		defer func() { <-w.websub.slots }()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if err := w.Deliver(ctx, id, body, contentType); err != nil {
			w.log.Warn("websub delivery not processed", "feed", id, "err", err)
		}
	}()
	rw.WriteHeader(http.StatusAccepted)
}

// Deliver processes a feed document pushed by a hub exactly like a poll's:
// same parsing, same seen check, same publishing.
func (w *Watcher) Deliver(ctx context.Context, feedID string, body []byte, contentType string) error {
	f, err := w.Get(ctx, feedID)
	if err != nil {
		return err
	}
	parsed, err := feed.Parse(body, f.URL, contentType)
	if err != nil {
		return err
	}
	w.fetched("websub", "ok", len(body))
	n, err := w.ingest(ctx, f, parsed.Items)
	if n > 0 {
		w.log.Info("websub delivered new articles", "feed", f.URL, "count", n)
	}
	return err
}

// signatureValid checks X-Hub-Signature ("sha256=<hex>"; sha1, sha384 and
// sha512 are allowed by the recommendation too).
func (w *Watcher) signatureValid(feedID, header string, body []byte) bool {
	method, sig, ok := strings.Cut(strings.TrimSpace(header), "=")
	if !ok {
		return false
	}
	var h func() hash.Hash
	switch strings.ToLower(method) {
	case "sha1":
		h = sha1.New
	case "sha256":
		h = sha256.New
	case "sha384":
		h = sha512.New384
	case "sha512":
		h = sha512.New
	default:
		return false
	}
	want, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	m := hmac.New(h, w.webSubSecret(feedID))
	m.Write(body)
	return hmac.Equal(m.Sum(nil), want)
}
