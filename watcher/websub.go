package watcher

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
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

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/feed"
	"github.com/herald-news/herald/fetch"
)

// WebSub (W3C Recommendation, 2018): a feed that names a hub is subscribed
// to, so the hub pushes new content to /websub/<feed id>/<token> within
// seconds. Polling goes on as the fallback. The subscription's state lives
// on the feed's hash, since the hub's verification request may reach any
// Herald process serving the web.
//
// The token is random and new with each subscription request: a
// verification is accepted only on the callback of the request Herald is
// waiting on, so nobody but the hub it asked can confirm or deny a
// subscription. Pushes are authenticated by their signature alone (the
// token is not needed: a hub may push on an older subscription's callback
// until its lease ends).
const (
	WebSubPath = "/websub/"
	// webSubLease is the lease asked for; hubs may grant less.
	webSubLease = 10 * 24 * time.Hour
	// webSubRenew: a subscription is renewed by the first poll that finds it
	// expiring within this margin.
	webSubRenew = time.Hour
	// webSubRetry: a request that was not verified is tried again after this.
	webSubRetry = time.Hour
	// webSubDeliveries bounds content deliveries read and processed at
	// once (each may hold a body of maxWebSubBody); beyond it the hub is
	// told to retry later, so that pushes cannot queue without limit.
	webSubDeliveries = 4
	maxWebSubBody    = fetch.DefaultMaxBody
	// webSubTokenLen is the length of a callback's token (hex).
	webSubTokenLen = 32
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

func (w *Watcher) webSubCallback(feedID, token string) string {
	return strings.TrimSuffix(w.PublicURL, "/") + WebSubPath + feedID + "/" + token
}

// webSubHubAllowed says whether hub may be sent a subscription request:
// the request carries the feed's hub.secret and the callback's token, so
// it goes over https only. Plain http is allowed for a hub on a loopback
// or private address literal when private feeds are allowed (tests, the
// demo, a hub beside Herald on its own network): a name could resolve to
// a private address now and to a public one when the request is sent.
func (w *Watcher) webSubHubAllowed(hu *url.URL) error {
	switch hu.Scheme {
	case "https":
		return nil
	case "http":
		host := hu.Hostname()
		if ip, err := netip.ParseAddr(host); w.fetcher.Options().AllowPrivate &&
			(host == "localhost" || err == nil && fetch.CheckAddr(ip) != nil) {
			return nil
		}
		return fmt.Errorf("websub hub %s is not https: its secret would travel in clear", hu.Redacted())
	}
	return fmt.Errorf("websub hub %q is not an http(s) URL", hu.Redacted())
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
	if err != nil || hu.Host == "" {
		return fmt.Errorf("websub hub %q is not an http(s) URL", hub)
	}
	if err := w.webSubHubAllowed(hu); err != nil {
		// Recorded as a failed request, so that polls try again in an
		// hour (the feed may move to https), not at every poll.
		w.st.Redis.HSet(ctx, w.feedKey(feedID), map[string]any{
			"websub_state": webSubFailed, "websub_hub": hub, "websub_requested": w.Now().Unix(),
		})
		return err
	}
	var tb [webSubTokenLen / 2]byte
	if _, err := rand.Read(tb[:]); err != nil {
		return fmt.Errorf("websub callback token: %w", err)
	}
	token := hex.EncodeToString(tb[:])
	// One process subscribes at a time; the others' polls skip it.
	ok, err := w.st.Redis.SetNX(ctx, w.webSubLockKey(feedID), 1, time.Minute).Result()
	if err != nil || !ok {
		return err
	}
	defer w.st.Redis.Del(context.WithoutCancel(ctx), w.webSubLockKey(feedID))
	// Pending before the request: a hub may verify before it answers.
	// websub_wait is what the verification must be: this request's mode,
	// on this request's callback token.
	if err := w.st.Redis.HSet(ctx, w.feedKey(feedID), map[string]any{
		"websub_state": webSubPending, "websub_topic": topic, "websub_hub": hub,
		"websub_requested": w.Now().Unix(), "websub_wait": "subscribe " + token,
	}).Err(); err != nil {
		return err
	}
	form := url.Values{
		"hub.mode":          {"subscribe"},
		"hub.topic":         {topic},
		"hub.callback":      {w.webSubCallback(feedID, token)},
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
		w.webSubFailed(ctx, feedID)
		return fmt.Errorf("subscribe at %s: %w", hub, err)
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		w.webSubFailed(ctx, feedID)
		return fmt.Errorf("subscribe at %s: HTTP %d", hub, resp.StatusCode)
	}
	w.log.Info("websub subscription requested", "feed", topic, "hub", hub)
	return nil
}

// webSubFailed records a request the hub refused or never got: no
// verification is waited on for it any more.
func (w *Watcher) webSubFailed(ctx context.Context, feedID string) {
	ctx = context.WithoutCancel(ctx)
	w.st.Redis.HSet(ctx, w.feedKey(feedID), "websub_state", webSubFailed)
	w.st.Redis.HDel(ctx, w.feedKey(feedID), "websub_wait")
}

// WebSubHandler serves hub callbacks under WebSubPath: intent verification
// (GET) and content distribution (POST).
func (w *Watcher) WebSubHandler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		// /websub/<feed id>/<token>; pushes may come on /websub/<feed id>,
		// the callback of subscriptions made before tokens.
		id, token, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, WebSubPath), "/")
		if id == "" || len(id) > 64 || strings.Contains(token, "/") || !w.webSubEnabled() {
			http.NotFound(rw, r)
			return
		}
		switch r.Method {
		case http.MethodGet:
			w.verify(rw, r, id, token)
		case http.MethodPost:
			w.deliver(rw, r, id)
		default:
			rw.Header().Set("Allow", "GET, POST")
			http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
}

// verify answers a hub's intent verification. It is accepted only for
// the request Herald is waiting on: the mode and callback token of the
// feed's pending request (websub_wait), its topic, within webSubRetry of
// asking. Anything else is 404 and changes nothing, so nobody can make
// Herald believe it is subscribed (and stop renewing), or denied.
func (w *Watcher) verify(rw http.ResponseWriter, r *http.Request, id, token string) {
	q := r.URL.Query()
	mode, topic, challenge := q.Get("hub.mode"), q.Get("hub.topic"), q.Get("hub.challenge")
	ctx := r.Context()
	m, err := w.st.Redis.HMGet(ctx, w.feedKey(id), "url", "websub_topic", "websub_wait", "websub_requested").Result()
	if err != nil {
		http.Error(rw, "unavailable", http.StatusServiceUnavailable)
		return
	}
	str := func(i int) string { s, _ := m[i].(string); return s }
	feedURL, known, wait := str(0), str(1), str(2)
	waitMode, waitToken, _ := strings.Cut(wait, " ")
	requested, _ := strconv.ParseInt(str(3), 10, 64)
	ours := feedURL != "" && known != "" && topic == known &&
		len(token) == webSubTokenLen && subtle.ConstantTimeCompare([]byte(token), []byte(waitToken)) == 1 &&
		w.Now().Sub(time.Unix(requested, 0)) < webSubRetry
	if !ours {
		http.NotFound(rw, r)
		return
	}
	switch {
	case mode == "subscribe" && waitMode == "subscribe" && challenge != "":
		lease := webSubLease
		if s, err := strconv.ParseInt(q.Get("hub.lease_seconds"), 10, 64); err == nil && s > 0 {
			lease = min(time.Duration(s)*time.Second, 365*24*time.Hour)
		}
		if err := w.answered(ctx, id, map[string]any{
			"websub_state": webSubActive, "websub_until": w.Now().Add(lease).Unix(),
		}); err != nil {
			http.Error(rw, "unavailable", http.StatusServiceUnavailable)
			return
		}
		w.log.Info("websub subscription verified", "feed", feedURL, "lease", lease)
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(rw, challenge)
	case mode == "denied":
		if err := w.answered(ctx, id, map[string]any{"websub_state": webSubDenied}); err != nil {
			http.Error(rw, "unavailable", http.StatusServiceUnavailable)
			return
		}
		w.log.Warn("websub subscription denied by hub", "feed", feedURL, "reason", truncate(q.Get("hub.reason"), 200))
		rw.WriteHeader(http.StatusOK)
	default:
		// Herald never unsubscribes through the hub (a removed feed's lease
		// runs out), so an unsubscribe, or any other intent, is not ours.
		http.NotFound(rw, r)
	}
}

// answered records the hub's answer to the pending request and stops
// waiting on it, in one step: a second verification of the same request
// (replayed, or forged with a leaked token) finds nothing to answer.
func (w *Watcher) answered(ctx context.Context, id string, fields map[string]any) error {
	_, err := w.st.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, w.feedKey(id), fields)
		p.HDel(ctx, w.feedKey(id), "websub_wait")
		return nil
	})
	return err
}

// deliver takes a hub's content distribution. Content is used only when its
// X-Hub-Signature is a valid HMAC of the body under the feed's secret; a
// forged or unsigned body is answered 2xx and dropped, as the WebSub
// recommendation asks (section 8), so a forger learns nothing.
//
// Bodies are up to 10 MiB and anyone can post, so the order is what bounds
// memory: a push without a well-formed signature is dropped before its
// body is read; the rest take one of webSubDeliveries slots before reading
// (none free: 503, the hub retries later); the body is hashed as it is
// read, and parsed only once the signature matched.
func (w *Watcher) deliver(rw http.ResponseWriter, r *http.Request, id string) {
	newHash, want, ok := parseSignature(r.Header.Get("X-Hub-Signature"))
	if !ok {
		w.log.Warn("websub delivery without a well-formed signature dropped", "feed", id, "remote", r.RemoteAddr)
		rw.WriteHeader(http.StatusAccepted)
		return
	}
	if r.ContentLength > maxWebSubBody {
		http.Error(rw, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	select {
	case w.websub.slots <- struct{}{}:
	default:
		rw.Header().Set("Retry-After", "10")
		http.Error(rw, "busy", http.StatusServiceUnavailable)
		return
	}
	held := true
	defer func() {
		if held {
			<-w.websub.slots
		}
	}()
	ctx := r.Context()
	m, err := w.st.Redis.HMGet(ctx, w.feedKey(id), "url").Result()
	if err != nil {
		http.Error(rw, "unavailable", http.StatusServiceUnavailable)
		return
	}
	if s, _ := m[0].(string); s == "" {
		// Gone tells the hub this subscription is over (the feed was removed).
		http.Error(rw, "not subscribed", http.StatusGone)
		return
	}
	mac := hmac.New(newHash, w.webSubSecret(id))
	var body bytes.Buffer
	if r.ContentLength > 0 {
		// Room for the whole body and the final empty read, so that
		// reading it allocates once.
		body.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	if _, err := body.ReadFrom(io.TeeReader(http.MaxBytesReader(rw, r.Body, maxWebSubBody), mac)); err != nil {
		http.Error(rw, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	if !hmac.Equal(mac.Sum(nil), want) {
		w.log.Warn("websub delivery with a bad signature dropped", "feed", id, "remote", r.RemoteAddr)
		rw.WriteHeader(http.StatusAccepted)
		return
	}
	contentType := r.Header.Get("Content-Type")
	// Answered at once: full text may take longer than a hub waits. A crash
	// before this finishes loses nothing: the next poll finds the items.
	held = false
	go func() {
		defer func() { <-w.websub.slots }()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if err := w.ingestPush(ctx, id, body.Bytes(), contentType); err != nil {
			w.log.Warn("websub delivery not processed", "feed", id, "err", err)
		}
	}()
	rw.WriteHeader(http.StatusAccepted)
}

// ingestPush processes a feed document pushed by a hub exactly like a
// poll's: same parsing, same seen check, same publishing.
func (w *Watcher) ingestPush(ctx context.Context, feedID string, body []byte, contentType string) error {
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

// signatureHashes are the X-Hub-Signature methods the recommendation
// allows, with the length of their digests.
var signatureHashes = map[string]struct {
	new  func() hash.Hash
	size int
}{
	"sha1":   {sha1.New, sha1.Size},
	"sha256": {sha256.New, sha256.Size},
	"sha384": {sha512.New384, sha512.Size384},
	"sha512": {sha512.New, sha512.Size},
}

// parseSignature reads X-Hub-Signature ("sha256=<hex>"): the hash and the
// digest it claims. ok is false unless the header has that form, with a
// known method and a digest of its length, so that a push that cannot be
// valid is refused without reading its body.
func parseSignature(header string) (newHash func() hash.Hash, digest []byte, ok bool) {
	method, sig, ok := strings.Cut(strings.TrimSpace(header), "=")
	if !ok {
		return nil, nil, false
	}
	h, known := signatureHashes[strings.ToLower(method)]
	if !known || len(sig) != 2*h.size {
		return nil, nil, false
	}
	digest, err := hex.DecodeString(sig)
	if err != nil {
		return nil, nil, false
	}
	return h.new, digest, true
}
