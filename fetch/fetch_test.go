package fetch

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

// newTestFetcher allows private addresses: httptest servers listen on 127.0.0.1.
func newTestFetcher(t *testing.T, opts Options) *Fetcher {
	t.Helper()
	opts.AllowPrivate = true
	if opts.UserAgent == "" {
		opts.UserAgent = "Herald/test (+https://example.org)"
	}
	f := New(opts)
	t.Cleanup(f.CloseIdleConnections)
	return f
}

func TestConditionalGet(t *testing.T) {
	const etag = `"v1"`
	const lastMod = "Mon, 02 Jan 2006 15:04:05 GMT"
	var gotUA string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUA = r.Header.Get("User-Agent")
		if r.Header.Get("If-None-Match") == etag || r.Header.Get("If-Modified-Since") == lastMod {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", lastMod)
		w.Header().Set("Cache-Control", "public, max-age=600")
		w.Header().Set("Content-Type", "application/rss+xml; charset=Windows-1251")
		io.WriteString(w, "<rss/>")
	}))
	defer srv.Close()
	f := newTestFetcher(t, Options{UserAgent: "Herald/0.1 (+https://example.org)"})
	ctx := context.Background()

	first, err := f.Get(ctx, srv.URL, Conditional{})
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != 200 || string(first.Body) != "<rss/>" || first.NotModified {
		t.Fatalf("first fetch: %+v", first)
	}
	if first.ETag != etag || first.LastModified != lastMod || first.MaxAge != 10*time.Minute {
		t.Errorf("validators: etag %q last-modified %q max-age %v", first.ETag, first.LastModified, first.MaxAge)
	}
	if first.ContentType != "application/rss+xml" || first.Charset != "windows-1251" {
		t.Errorf("content type %q charset %q", first.ContentType, first.Charset)
	}
	if gotUA != "Herald/0.1 (+https://example.org)" {
		t.Errorf("User-Agent sent: %q", gotUA)
	}

	for name, cond := range map[string]Conditional{
		"etag":          {ETag: etag},
		"last-modified": {LastModified: lastMod},
	} {
		t.Run(name, func(t *testing.T) {
			r, err := f.Get(ctx, srv.URL, cond)
			if err != nil {
				t.Fatal(err)
			}
			if !r.NotModified || r.Status != 304 || len(r.Body) != 0 {
				t.Fatalf("want 304 not modified, got %+v", r)
			}
			// The 304 carried no validators: the caller's are handed back.
			if r.ETag != cond.ETag || r.LastModified != cond.LastModified {
				t.Errorf("validators not kept: %+v", r)
			}
		})
	}
}

func TestRedirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/loop/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop/b", http.StatusFound) })
	mux.HandleFunc("/loop/b", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop/a", http.StatusFound) })
	mux.HandleFunc("/chain/", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(r.URL.Path, "/chain/%d", &n)
		http.Redirect(w, r, fmt.Sprintf("/chain/%d", n+1), http.StatusFound)
	})
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/new", http.StatusMovedPermanently) })
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/final", http.StatusPermanentRedirect)
	})
	mux.HandleFunc("/temp", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/old", http.StatusFound) })
	mux.HandleFunc("/final", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/five/", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(r.URL.Path, "/five/%d", &n)
		if n == 5 {
			io.WriteString(w, "ok")
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/five/%d", n+1), http.StatusFound)
	})
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	f := newTestFetcher(t, Options{})
	ctx := context.Background()

	for _, path := range []string{"/loop/a", "/chain/0"} {
		if _, err := f.Get(ctx, srv.URL+path, Conditional{}); !errors.Is(err, ErrTooManyRedirects) {
			t.Errorf("%s: want ErrTooManyRedirects, got %v", path, err)
		}
	}
	if _, err := f.Get(ctx, srv.URL+"/file", Conditional{}); !errors.Is(err, ErrScheme) {
		t.Errorf("redirect to file: want ErrScheme, got %v", err)
	}
	r, err := f.Get(ctx, srv.URL+"/five/0", Conditional{})
	if err != nil || string(r.Body) != "ok" {
		t.Fatalf("five redirects must be followed: %v", err)
	}
	if r.PermanentRedirect != "" {
		t.Errorf("302s reported as permanent: %q", r.PermanentRedirect)
	}

	r, err = f.Get(ctx, srv.URL+"/old", Conditional{})
	if err != nil {
		t.Fatal(err)
	}
	if r.FinalURL != srv.URL+"/final" || r.PermanentRedirect != srv.URL+"/final" {
		t.Errorf("301+308: final %q permanent %q", r.FinalURL, r.PermanentRedirect)
	}
	// A temporary hop first: the feed's own URL has not moved for good.
	r, err = f.Get(ctx, srv.URL+"/temp", Conditional{})
	if err != nil {
		t.Fatal(err)
	}
	if r.PermanentRedirect != "" {
		t.Errorf("302 then 301 reported as permanent: %q", r.PermanentRedirect)
	}
}

func TestSlowBody(t *testing.T) {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		for {
			io.WriteString(w, " ")
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}))
	defer srv.Close()
	defer close(stop)
	f := newTestFetcher(t, Options{Timeout: 500 * time.Millisecond})
	start := time.Now()
	_, err := f.Get(context.Background(), srv.URL, Conditional{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a deadline error, got %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("trickling body held the fetch for %v", el)
	}
}

func TestBodyCap(t *testing.T) {
	const fifty = 50 << 20
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	// A gzip bomb: 50 MiB of zeros as 50 concatenated gzip members (a
	// valid gzip stream), about 50 KiB on the wire. Building it this way
	// compresses 1 MiB once instead of 50.
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	gzBomb := bytes.Repeat(member.Bytes(), fifty>>20)
	// Brotli has no members to repeat; 16 MiB of zeros at the fastest level
	// is already a bomb past the 10 MiB cap.
	var brBomb bytes.Buffer
	bw := brotli.NewWriterLevel(&brBomb, 0)
	bw.Write(make([]byte, 16<<20))
	bw.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(fifty))
		for i := 0; i < fifty/len(chunk); i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < fifty/len(chunk); i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/gzbomb", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gzBomb)
	})
	mux.HandleFunc("/brbomb", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "br")
		w.Write(brBomb.Bytes())
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	f := newTestFetcher(t, Options{})
	if len(gzBomb) > 1<<20 || brBomb.Len() > 1<<20 {
		t.Fatalf("test bombs are not bombs: %d and %d bytes", len(gzBomb), brBomb.Len())
	}
	for _, path := range []string{"/big", "/chunked", "/gzbomb", "/brbomb"} {
		t.Run(path, func(t *testing.T) {
			_, err := f.Get(context.Background(), srv.URL+path, Conditional{})
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("want ErrTooLarge, got %v", err)
			}
		})
	}
}

func TestDecoding(t *testing.T) {
	const doc = `<?xml version="1.0"?><rss version="2.0"><channel><title>é</title></channel></rss>`
	var gz, br bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, doc)
	zw.Close()
	bw := brotli.NewWriter(&br)
	io.WriteString(bw, doc)
	bw.Close()
	var accept atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accept.Store(r.Header.Get("Accept-Encoding"))
		switch r.URL.Path {
		case "/gzip":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz.Bytes())
		case "/br":
			w.Header().Set("Content-Encoding", "br")
			w.Write(br.Bytes())
		default:
			io.WriteString(w, doc)
		}
	}))
	defer srv.Close()
	f := newTestFetcher(t, Options{})
	for _, path := range []string{"/plain", "/gzip", "/br"} {
		r, err := f.Get(context.Background(), srv.URL+path, Conditional{})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if string(r.Body) != doc {
			t.Errorf("%s: body %q", path, r.Body)
		}
	}
	if got := accept.Load(); got != "gzip, br" {
		t.Errorf("Accept-Encoding sent: %q", got)
	}
}

func TestRetryAfter(t *testing.T) {
	date := time.Now().Add(2 * time.Hour).UTC().Format(http.TimeFormat)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/seconds":
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		case "/date":
			w.Header().Set("Retry-After", date)
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/huge":
			w.Header().Set("Retry-After", "99999999999")
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	f := newTestFetcher(t, Options{})
	tests := []struct {
		path     string
		code     int
		min, max time.Duration
	}{
		{"/seconds", 429, 120 * time.Second, 120 * time.Second},
		{"/date", 503, 2*time.Hour - time.Minute, 2 * time.Hour},
		{"/huge", 429, MaxRetryAfter, MaxRetryAfter},
		{"/gone", 404, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			_, err := f.Get(context.Background(), srv.URL+tt.path, Conditional{})
			var se *StatusError
			if !errors.As(err, &se) {
				t.Fatalf("want *StatusError, got %v", err)
			}
			if se.Code != tt.code || se.RetryAfter < tt.min || se.RetryAfter > tt.max {
				t.Errorf("got code %d retry-after %v", se.Code, se.RetryAfter)
			}
		})
	}
}

func TestSchemes(t *testing.T) {
	f := New(Options{})
	for _, u := range []string{"file:///etc/passwd", "ftp://example.org/feed", "gopher://x/", "javascript:alert(1)"} {
		if _, err := f.Get(context.Background(), u, Conditional{}); !errors.Is(err, ErrScheme) {
			t.Errorf("%s: want ErrScheme, got %v", u, err)
		}
	}
}

func TestCheckAddr(t *testing.T) {
	refused := []string{
		"127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.0.1", "192.168.1.1",
		"169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255",
		"::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1",
		"::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1",
		"64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
		"2002:7f00:1::1",     // 6to4 of 127.0.0.1
	}
	allowed := []string{"93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.216.34"}
	for _, s := range refused {
		if err := CheckAddr(netip.MustParseAddr(s)); !errors.Is(err, ErrPrivateAddress) {
			t.Errorf("%s: want ErrPrivateAddress, got %v", s, err)
		}
		if err := dialControl("tcp", netip.AddrPortFrom(netip.MustParseAddr(s), 80).String(), nil); !errors.Is(err, ErrPrivateAddress) {
			t.Errorf("dialControl %s: want ErrPrivateAddress, got %v", s, err)
		}
	}
	for _, s := range allowed {
		if err := CheckAddr(netip.MustParseAddr(s)); err != nil {
			t.Errorf("%s: refused: %v", s, err)
		}
	}
}

// TestPrivateRefused fetches URLs whose addresses are private with
// AllowPrivate off. The loopback servers are real and would answer; the
// others are never connected to: the dial check refuses before connect(2),
// which is why these fail at once rather than after a connect timeout.
func TestPrivateRefused(t *testing.T) {
	var hits atomic.Int32
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	srv4 := httptest.NewServer(handler)
	defer srv4.Close()
	urls := []string{
		srv4.URL,
		"http://localhost:" + portOf(srv4.URL) + "/", // a name resolving to loopback
		"http://10.0.0.1/feed.xml",
		"http://169.254.169.254/latest/meta-data/",
		"http://[::ffff:169.254.169.254]/",
		"http://[::1]:" + portOf(srv4.URL) + "/",
	}
	if ln, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		srv6 := httptest.NewUnstartedServer(handler)
		srv6.Listener.Close()
		srv6.Listener = ln
		srv6.Start()
		defer srv6.Close()
		urls = append(urls, srv6.URL)
	}
	f := New(Options{Timeout: 5 * time.Second})
	for _, u := range urls {
		start := time.Now()
		_, err := f.Get(context.Background(), u, Conditional{})
		if !errors.Is(err, ErrPrivateAddress) {
			t.Errorf("%s: want ErrPrivateAddress, got %v", u, err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("%s: refusal took %v; it must come before connecting", u, el)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("servers on loopback were reached %d times", n)
	}
}

func portOf(u string) string {
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(u, "http://"))
	return port
}

func TestHostLimit(t *testing.T) {
	var inFlight, peak atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		inFlight.Add(-1)
	}))
	defer srv.Close()
	f := newTestFetcher(t, Options{PerHost: 2})
	done := make(chan error)
	for i := 0; i < 6; i++ {
		go func() {
			_, err := f.Get(context.Background(), fmt.Sprintf("%s/%d", srv.URL, i), Conditional{})
			done <- err
		}()
	}
	time.Sleep(100 * time.Millisecond) // let all six queue; not a timing assertion
	close(release)
	for i := 0; i < 6; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if p := peak.Load(); p > 2 {
		t.Errorf("%d requests to one host in flight, limit 2", p)
	}
}

func TestBackoff(t *testing.T) {
	prevMax := time.Duration(0)
	for attempt := 1; attempt <= 40; attempt++ {
		want := min(BackoffBase<<min(attempt-1, 20), BackoffMax)
		for i := 0; i < 20; i++ {
			d := Backoff(attempt)
			if d < want/2 || d > want {
				t.Fatalf("Backoff(%d) = %v, want in [%v, %v]", attempt, d, want/2, want)
			}
		}
		if want < prevMax {
			t.Fatalf("backoff shrank at attempt %d", attempt)
		}
		prevMax = want
	}
	if d := Backoff(0); d < BackoffBase/2 || d > BackoffBase {
		t.Errorf("Backoff(0) = %v", d)
	}
}

func TestParseMaxAge(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		h    http.Header
		want time.Duration
	}{
		{http.Header{"Cache-Control": {"max-age=300"}}, 5 * time.Minute},
		{http.Header{"Cache-Control": {"public, max-age=60, must-revalidate"}}, time.Minute},
		{http.Header{"Cache-Control": {"no-cache"}}, 0},
		{http.Header{"Expires": {now.Add(time.Hour).Format(http.TimeFormat)}}, time.Hour},
		{http.Header{}, 0},
	}
	for _, tt := range tests {
		if got := parseMaxAge(tt.h, now); got != tt.want {
			t.Errorf("%v: got %v want %v", tt.h, got, tt.want)
		}
	}
}
