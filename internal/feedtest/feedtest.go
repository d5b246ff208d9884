// Package feedtest serves feeds that never change, for tests and
// benchmarks that measure polling: what matters there is the cost of a
// conditional GET answered 304, spread over many hosts.
package feedtest

import (
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
)

// Unchanged serves one small RSS feed with the ETag "v1" and answers 304
// to a request that names that ETag. seen, when not nil, is called on
// every request; notModified counts the 304s.
func Unchanged(seen func(), notModified *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen != nil {
			seen()
		}
		if r.Header.Get("If-None-Match") == `"v1"` {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://example.org/</link></channel></rss>`)
	})
}

// Hosts serves h on n loopback addresses, 127.0.0.2 and up (each a host
// of its own, so per-host limits spread the load), until the test ends.
// It returns their host:port, or the error of the first that could not
// listen.
func Hosts(tb testing.TB, n int, h http.Handler) ([]string, error) {
	var hosts []string
	for i := 2; i < 2+n; i++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:0", i))
		if err != nil {
			return nil, fmt.Errorf("listen on 127.0.0.%d: %w", i, err)
		}
		srv := &http.Server{Handler: h}
		go srv.Serve(l)
		tb.Cleanup(func() { srv.Close() })
		hosts = append(hosts, l.Addr().String())
	}
	return hosts, nil
}
