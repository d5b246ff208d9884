package watcher

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/fetch"
	"github.com/herald-news/herald/internal/feedtest"
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
	hosts, err := feedtest.Hosts(b, 16, feedtest.Unchanged(func() { served.Add(1) }, &notModified))
	if err != nil {
		b.Skipf("cannot serve the feeds: %v", err)
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

// BenchmarkWatcherSpread304 runs the watcher in real time over feeds added
// in one batch and served 304, and reports the poll rate and how bunched
// the polls are: the busiest second's polls over the mean, in the last two
// intervals (after the batch has had time to spread). HERALD_BENCH_FEEDS
// (default 1,000) and HERALD_BENCH_INTERVAL (default 5s) set the load; the
// run lasts eight intervals whatever b.N is.
func BenchmarkWatcherSpread304(b *testing.B) {
	feeds := 1000
	if n, err := strconv.Atoi(os.Getenv("HERALD_BENCH_FEEDS")); err == nil && n > 0 {
		feeds = n
	}
	interval := 5 * time.Second
	if d, err := time.ParseDuration(os.Getenv("HERALD_BENCH_INTERVAL")); err == nil && d > 0 {
		interval = d
	}
	st := storetest.New(b)
	var mu sync.Mutex
	perSecond := map[int64]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		perSecond[time.Now().Unix()]++
		mu.Unlock()
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://example.org/</link></channel></rss>`)
	}))
	b.Cleanup(srv.Close)
	ctx := context.Background()
	w := New(st, fetch.New(fetch.Options{UserAgent: "Herald-bench", AllowPrivate: true, PerHost: 64}), interval, nil)
	w.Workers = 64
	w.Complete = nil
	for i := range feeds {
		if _, err := w.AddFeed(ctx, fmt.Sprintf("%s/feed/%d.xml", srv.URL, i), interval, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	rctx, cancel := context.WithTimeout(ctx, 8*interval)
	defer cancel()
	c0, t0 := cpuTime(), time.Now()
	w.Run(rctx)
	cpu, wall := cpuTime()-c0, time.Since(t0)
	b.StopTimer()
	from := t0.Add(6 * interval).Unix()
	to := time.Now().Unix() - 1 // the last second is cut short
	mu.Lock()
	defer mu.Unlock()
	var total, all, peak int
	for s, n := range perSecond {
		all += n
		if s >= from && s < to {
			total += n
			peak = max(peak, n)
		}
	}
	mean := float64(total) / float64(to-from)
	b.ReportMetric(float64(all)/wall.Seconds(), "polls/s")
	b.ReportMetric(float64(peak)/mean, "peak/mean")
	b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores")
}
