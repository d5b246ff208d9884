// Package fetch is Herald's careful HTTP client for feeds and article pages:
// conditional GET, gzip and brotli decoded under a size cap, bounded
// redirects, per-host and global concurrency limits, Retry-After and
// Cache-Control read back for the scheduler, and a dial-time guard that keeps
// URLs chosen by outsiders away from loopback, private and metadata addresses.
package fetch

import (
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/andybalholm/brotli"
)

// Defaults for the zero values of Options. They are the limits Herald
// promises in SPEC.md ("huge (over 10 MiB), slow (over 30 s)").
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxBody      = 10 << 20 // bytes, counted after decompression
	DefaultMaxRedirects = 5
	DefaultPerHost      = 2  // requests in flight to one host
	DefaultGlobal       = 16 // requests in flight in one Fetcher

	// MaxRetryAfter caps what a server may ask through Retry-After, so a
	// hostile or broken header cannot park a feed for months.
	MaxRetryAfter = 24 * time.Hour

	dialTimeout = 10 * time.Second
)

// Errors callers branch on; every error from Get wraps at most one of them.
var (
	ErrTooLarge         = errors.New("response body too large")
	ErrPrivateAddress   = errors.New("refusing to connect to a private or reserved address")
	ErrTooManyRedirects = errors.New("too many redirects") // also a redirect loop
	ErrScheme           = errors.New("only http and https URLs are fetched")
)

// StatusError is a response other than 2xx or 304. RetryAfter is what the
// server asked for with Retry-After (on 429 and 503 typically), zero if none.
type StatusError struct {
	Code       int
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("HTTP %d %s", e.Code, http.StatusText(e.Code))
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return s
}

// Options configure a Fetcher; zero values take the defaults above.
type Options struct {
	UserAgent    string        // honest and reachable, e.g. "Herald/0.1 (+https://example.org)"
	AllowPrivate bool          // connect to loopback and private addresses (tests, the demo)
	Timeout      time.Duration // whole request: connect, headers, body
	MaxBody      int64         // bytes after decompression
	MaxRedirects int
	PerHost      int
	Global       int
}

// Conditional carries the validators of the copy the caller already has.
type Conditional struct {
	ETag         string
	LastModified string
}

// Response is a successful (2xx) or not-modified (304) response.
type Response struct {
	Status       int
	Body         []byte // decoded; empty when NotModified
	ETag         string // to send back next time; the caller's when a 304 omits it
	LastModified string
	NotModified  bool
	FinalURL     string // after redirects
	// PermanentRedirect is where the URL moved to through an unbroken chain
	// of 301/308 responses from the start; empty if it did not move for
	// good. A feed's stored URL should be updated to it.
	PermanentRedirect string
	RetryAfter        time.Duration // Retry-After, if a successful response carried one
	MaxAge            time.Duration // Cache-Control max-age (or Expires), zero when absent or no-cache
	ContentType       string        // media type, lower case, without parameters
	Charset           string        // charset parameter of Content-Type, lower case, may be empty
}

// Fetcher fetches URLs; it is safe for concurrent use. The zero value is not
// usable: call New.
type Fetcher struct {
	opts   Options
	client *http.Client
	hosts  *hostLimiter
	global chan struct{}
}

// New returns a Fetcher with its own connection pool.
func New(opts Options) *Fetcher {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.MaxRedirects <= 0 {
		opts.MaxRedirects = DefaultMaxRedirects
	}
	if opts.PerHost <= 0 {
		opts.PerHost = DefaultPerHost
	}
	if opts.Global <= 0 {
		opts.Global = DefaultGlobal
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "Herald"
	}
	transport := &http.Transport{
		// Never go through an environment proxy: the dial-time address check
		// would then see the proxy, not the feed's host.
		Proxy: nil,
		// Every connection goes through the guarded dialer (see guard.go).
		DialContext: newDialer(opts.AllowPrivate).DialContext,
		// A custom DialContext turns HTTP/2 off unless asked for again.
		ForceAttemptHTTP2: true,
		// Enough idle connections for the global limit to reuse them.
		MaxIdleConns: 4 * opts.Global,
		// We never have more than PerHost requests to one host in flight
		// (the limiter below), so keeping more idle ones is waste.
		MaxIdleConnsPerHost: opts.PerHost,
		// Polls of the same host come minutes apart; do not hold sockets
		// open longer than a typical server would.
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		// The overall deadline also bounds this; a separate one reports a
		// server that accepts and never answers with a clearer error.
		ResponseHeaderTimeout: opts.Timeout,
		// We ask for gzip and br ourselves and decode under the size cap;
		// the transport's transparent gzip would hide Content-Encoding.
		DisableCompression: true,
		// Headers are small; 1 MiB instead of the default 10 MiB keeps a
		// header bomb from costing memory.
		MaxResponseHeaderBytes: 1 << 20,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
	}
	f := &Fetcher{
		opts:   opts,
		hosts:  newHostLimiter(opts.PerHost),
		global: make(chan struct{}, opts.Global),
	}
	f.client = &http.Client{Transport: transport, CheckRedirect: f.checkRedirect}
	return f
}

// Options returns the options in effect, defaults filled in.
func (f *Fetcher) Options() Options { return f.opts }

// CloseIdleConnections releases pooled connections.
func (f *Fetcher) CloseIdleConnections() { f.client.CloseIdleConnections() }

type redirectKey struct{}

// redirectState follows one Get through its redirects.
type redirectState struct {
	permanent string // last URL reached only through 301/308 so far
	broken    bool   // a temporary redirect came first; later 301s do not move the feed
}

func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > f.opts.MaxRedirects {
		return fmt.Errorf("%w: more than %d", ErrTooManyRedirects, f.opts.MaxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("redirect to %s: %w", req.URL.Redacted(), ErrScheme)
	}
	next := req.URL.String()
	for _, v := range via {
		if v.URL.String() == next {
			return fmt.Errorf("%w: loop back to %s", ErrTooManyRedirects, req.URL.Redacted())
		}
	}
	if st, _ := req.Context().Value(redirectKey{}).(*redirectState); st != nil && !st.broken {
		if code := req.Response.StatusCode; code == http.StatusMovedPermanently || code == http.StatusPermanentRedirect {
			st.permanent = next
		} else {
			st.broken = true
		}
	}
	// Conditional headers and the User-Agent are copied by net/http; the
	// validators still apply, as the resource is the same one.
	return nil
}

// Get fetches rawURL, sending cond's validators. It returns a *Response for
// 2xx and 304; any other status is a *StatusError. The request, including
// reading the body, is bounded by Options.Timeout and by ctx.
func (f *Fetcher) Get(ctx context.Context, rawURL string, cond Conditional) (*Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("fetch %s: %w", u.Redacted(), ErrScheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("fetch %s: no host", rawURL)
	}
	shown := u.Redacted()

	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()

	// Host first, then global: a request queued behind a busy host must not
	// hold one of the global slots while it waits.
	releaseHost, err := f.hosts.acquire(ctx, strings.ToLower(u.Host))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: waiting for host slot: %w", shown, err)
	}
	defer releaseHost()
	releaseGlobal, err := acquireGlobal(ctx, f.global)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: waiting for slot: %w", shown, err)
	}
	defer releaseGlobal()

	st := &redirectState{}
	req, err := http.NewRequestWithContext(context.WithValue(ctx, redirectKey{}, st), http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", shown, err)
	}
	req.Header.Set("User-Agent", f.opts.UserAgent)
	req.Header.Set("Accept", "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, text/html;q=0.8, */*;q=0.5")
	req.Header.Set("Accept-Encoding", "gzip, br")
	if cond.ETag != "" {
		req.Header.Set("If-None-Match", cond.ETag)
	}
	if cond.LastModified != "" {
		req.Header.Set("If-Modified-Since", cond.LastModified)
	}

	resp, err := f.client.Do(req)
	if err != nil {
		// *url.Error would repeat the method and URL the prefix already names.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("fetch %s: %w", shown, timeoutCause(ctx, err))
	}
	defer resp.Body.Close()

	out := &Response{
		Status:       resp.StatusCode,
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
		FinalURL:     resp.Request.URL.String(),
		RetryAfter:   parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		MaxAge:       parseMaxAge(resp.Header, time.Now()),
	}
	if st.permanent != "" {
		out.PermanentRedirect = st.permanent
	}
	if mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil {
		out.ContentType = strings.ToLower(mt)
		out.Charset = strings.ToLower(params["charset"])
	}

	switch {
	case resp.StatusCode == http.StatusNotModified:
		out.NotModified = true
		// A 304 need not repeat the validators; keep the ones that worked.
		if out.ETag == "" {
			out.ETag = cond.ETag
		}
		if out.LastModified == "" {
			out.LastModified = cond.LastModified
		}
		return out, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		// Read a little so the connection can be reused, never the whole body.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		return nil, fmt.Errorf("fetch %s: %w", shown, &StatusError{Code: resp.StatusCode, RetryAfter: out.RetryAfter})
	}

	body, err := f.readBody(resp)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", shown, timeoutCause(ctx, err))
	}
	out.Body = body
	return out, nil
}

// readBody decodes the body and reads at most MaxBody decoded bytes, so a
// small gzip or brotli bomb stops at the cap like a large plain body does.
func (f *Fetcher) readBody(resp *http.Response) ([]byte, error) {
	max := f.opts.MaxBody
	enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding")))
	if (enc == "" || enc == "identity") && resp.ContentLength > max {
		return nil, fmt.Errorf("%w: Content-Length %d > %d", ErrTooLarge, resp.ContentLength, max)
	}
	var r io.Reader = resp.Body
	switch enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		r = zr
	case "br":
		r = brotli.NewReader(resp.Body)
	case "deflate":
		// Not asked for, but some servers send it regardless.
		zr, err := zlib.NewReader(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("deflate: %w", err)
		}
		defer zr.Close()
		r = zr
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q", enc)
	}
	buf := make([]byte, 0, initialBuf(resp.ContentLength, max))
	lr := &io.LimitedReader{R: r, N: max + 1}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > max {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read body: %w", err)
		}
	}
}

func initialBuf(contentLength, max int64) int64 {
	switch {
	case contentLength <= 0:
		return 32 << 10
	case contentLength > max:
		return max
	default:
		return contentLength + 1 // +1 so EOF is seen without growing
	}
}

// timeoutCause makes a request that ran out of its own time budget say so,
// wrapping context.DeadlineExceeded, whatever net/http called it.
func timeoutCause(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
	}
	return err
}

// parseRetryAfter reads delay-seconds or an HTTP-date (RFC 9110 10.2.3).
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}

// parseMaxAge reads how long the response may be considered fresh:
// Cache-Control max-age, else Expires minus Date. no-cache and no-store mean
// zero; they say nothing about how often a feed changes.
func parseMaxAge(h http.Header, now time.Time) time.Duration {
	for _, cc := range h.Values("Cache-Control") {
		for _, part := range strings.Split(cc, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch strings.ToLower(k) {
			case "no-cache", "no-store":
				return 0
			case "max-age":
				n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64)
				if err != nil || n <= 0 {
					return 0
				}
				return min(time.Duration(n)*time.Second, MaxRetryAfter)
			}
		}
	}
	if exp := h.Get("Expires"); exp != "" {
		t, err := http.ParseTime(exp)
		if err != nil {
			return 0
		}
		if d, err := http.ParseTime(h.Get("Date")); err == nil {
			now = d
		}
		return min(max(t.Sub(now), 0), MaxRetryAfter)
	}
	return 0
}

// Backoff bounds for Backoff.
const (
	BackoffBase = time.Minute
	BackoffMax  = 24 * time.Hour
)

// Backoff returns how long to wait before retrying after the attempt-th
// consecutive failure (1 for the first): BackoffBase doubled each time,
// capped at BackoffMax, with jitter in the upper half so that feeds that
// failed together do not retry together.
func Backoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := BackoffMax
	if attempt <= 20 { // 1m << 20 is well past the cap; avoid overflow beyond
		d = min(BackoffBase<<(attempt-1), BackoffMax)
	}
	half := d / 2
	return half + rand.N(half+1)
}
