package fetch

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchFeeds is how many distinct feeds the poll benchmark cycles through.
const benchFeeds = 5000

// benchHosts is how many loopback addresses (127.0.0.1 … 127.0.0.16) the
// feeds are spread over, so the per-host limit applies as it would to real
// sites instead of serialising every poll on one host.
const benchHosts = 16

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPoll304 polls 5,000 feeds that all answer 304 Not Modified to the
// validators of the previous poll: the watcher's steady state. One op is one
// poll. It reports feeds/min at full speed and CPU seconds per 1,000 polls;
// cores@5k/min is the CPU the target rate of 5,000 feeds a minute costs.
// The server runs in the same process, so the CPU figures include its
// share: they are an upper bound for the fetcher's.
//
//	go test ./fetch/ -run '^$' -bench Poll304 -benchtime 20000x
func BenchmarkPoll304(b *testing.B) {
	for _, keepAlive := range []bool{true, false} {
		name := "keepalive"
		if !keepAlive {
			name = "newconn"
		}
		b.Run(name, func(b *testing.B) { benchPoll(b, keepAlive) })
	}
}

func benchPoll(b *testing.B, keepAlive bool) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		etag := `"` + r.URL.Path + `"`
		if !keepAlive {
			w.Header().Set("Connection", "close")
		}
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprintf(w, `<rss version="2.0"><channel><title>%s</title></channel></rss>`, r.URL.Path)
	})
	var bases []string
	for i := 1; i <= benchHosts; i++ {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:0", i))
		if err != nil {
			break // only 127.0.0.1 on this system: fewer hosts, same test
		}
		srv := httptest.NewUnstartedServer(handler)
		srv.Listener.Close()
		srv.Listener = ln
		srv.Start()
		b.Cleanup(srv.Close)
		bases = append(bases, srv.URL)
	}
	if len(bases) == 0 {
		b.Fatal("cannot listen on loopback")
	}
	f := New(Options{AllowPrivate: true, UserAgent: "Herald/bench"})
	b.Cleanup(f.CloseIdleConnections)
	opts := f.Options()

	urls := make([]string, benchFeeds)
	etags := make([]string, benchFeeds)
	for i := range urls {
		urls[i] = fmt.Sprintf("%s/feed/%d.xml", bases[i%len(bases)], i)
	}
	// First poll of every feed, not measured: it learns the ETags.
	poll := func(n int, measure bool) {
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < opts.Global; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= n {
						return
					}
					k := i % benchFeeds
					r, err := f.Get(context.Background(), urls[k], Conditional{ETag: etags[k]})
					if err != nil {
						b.Error(err)
						return
					}
					if !measure {
						etags[k] = r.ETag
					} else if !r.NotModified {
						b.Errorf("%s: want 304, got %d", urls[k], r.Status)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	poll(benchFeeds, false)

	b.ReportAllocs()
	b.ResetTimer()
	cpu0, t0 := cpuTime(), time.Now()
	poll(b.N, true)
	elapsed, cpu := time.Since(t0), cpuTime()-cpu0
	b.StopTimer()

	cpuPer1000 := cpu.Seconds() / float64(b.N) * 1000
	b.ReportMetric(float64(b.N)/elapsed.Minutes(), "feeds/min")
	b.ReportMetric(cpuPer1000, "cpu-s/1000polls")
	b.ReportMetric(cpuPer1000*5/60, "cores@5k/min")
	b.ReportMetric(float64(len(bases)), "hosts")
}
