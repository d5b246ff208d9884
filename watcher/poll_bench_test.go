package watcher

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/fetch"
	"github.com/herald-news/herald/store/storetest"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWatcherPoll304 runs the whole watcher (Redis claim script, feed
// state in Redis, conditional GET, rescheduling) over 5,000 feeds whose
// servers answer 304, on 16 loopback addresses so the per-host limit acts as
// it would on real sites. It reports feeds polled a minute and the CPU this
// process spends per 1,000 polls (the feed servers run in this process too,
// so the figure is an upper bound; Redis's own CPU is not counted).
func BenchmarkWatcherPoll304(b *testing.B) {
	const feeds = 5000
	st := storetest.New(b)
	var served, notModified atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		if r.Header.Get("If-None-Match") == `"v1"` {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://example.org/</link></channel></rss>`)
	})
	var hosts []string
	for i := 2; i < 18; i++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:0", i))
		if err != nil {
			b.Skipf("cannot listen on 127.0.0.%d: %v", i, err)
		}
		srv := &http.Server{Handler: h}
		go srv.Serve(l)
		b.Cleanup(func() { srv.Close() })
		hosts = append(hosts, l.Addr().String())
	}
	ctx := context.Background()
	w := New(st, fetch.New(fetch.Options{UserAgent: "Herald-bench", AllowPrivate: true}), time.Hour, nil)
	w.Workers = 64
	w.Complete = nil
	ids := make([]string, 0, feeds)
	for i := range feeds {
		f, err := w.Add(ctx, fmt.Sprintf("http://%s/feed/%d.xml", hosts[i%len(hosts)], i), time.Hour, 0)
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, f.ID)
	}
	dueAll := func() {
		zs := make([]redis.Z, len(ids))
		now := float64(time.Now().UnixMilli())
		for i, id := range ids {
			zs[i] = redis.Z{Score: now, Member: id}
		}
		if err := st.Redis.ZAdd(ctx, w.dueKey(), zs...).Err(); err != nil {
			b.Fatal(err)
		}
	}
	round := func() time.Duration {
		start := served.Load()
		dueAll()
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		t0 := time.Now()
		go func() { w.Run(rctx); close(done) }()
		for served.Load()-start < feeds {
			time.Sleep(2 * time.Millisecond)
		}
		took := time.Since(t0)
		cancel()
		<-done
		return took
	}
	round() // first fetch of every feed: learn the ETags
	served0, nm0 := served.Load(), notModified.Load()
	b.ResetTimer()
	var wall, cpu time.Duration
	for range b.N {
		c0 := cpuTime()
		wall += round()
		cpu += cpuTime() - c0
	}
	polls := float64(b.N * feeds)
	b.ReportMetric(polls/wall.Minutes(), "feeds/min")
	b.ReportMetric(cpu.Seconds()/(polls/1000), "cpu-s/1000polls")
	b.ReportMetric(float64(notModified.Load()-nm0)/float64(served.Load()-served0), "share-304")
}
