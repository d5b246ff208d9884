//go:build faults

package faults

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/feedtest"
	"github.com/herald-news/herald/watcher"
)

// TestPollingScale measures a watcher process from outside: feeds on 32
// loopback hosts served by this test, every one answering 304 once its
// first fetch gave it an ETag, polled every minute by one `herald serve
// --roles watcher`. Per minute it reports the process's CPU, the polls,
// the busiest second against the mean, and herald_feeds_overdue. The feeds
// are all added at once, the hardest start, so the first minutes show
// them spreading; the last two minutes are the steady state, where no
// second may carry more than 3 times the mean and no feed may be overdue.
// It runs only with HERALD_SCALE=1 (HERALD_SCALE_FEEDS, default
// "20000,100000"; HERALD_SCALE_POLL_MINUTES, default 6):
//
//	HERALD_SCALE=1 go test -tags faults ./faults/ -run TestPollingScale -v -timeout 30m
func TestPollingScale(t *testing.T) {
	needRedis(t)
	if os.Getenv("HERALD_SCALE") != "1" {
		t.Skip("polling scale measurement skipped: set HERALD_SCALE=1 (HERALD_SCALE_FEEDS, default 20000,100000) to run it")
	}
	counts := []int{20_000, 100_000}
	if v := os.Getenv("HERALD_SCALE_FEEDS"); v != "" {
		counts = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				t.Fatalf("HERALD_SCALE_FEEDS: %q is not a number of feeds", f)
			}
			counts = append(counts, n)
		}
	}
	minutes := 6
	if v, err := strconv.Atoi(os.Getenv("HERALD_SCALE_POLL_MINUTES")); err == nil && v >= 3 {
		minutes = v
	}
	for _, n := range counts {
		t.Run(fmt.Sprintf("feeds=%d", n), func(t *testing.T) { pollingScale(t, n, minutes) })
	}
}

var overdueMetric = regexp.MustCompile(`(?m)^herald_feeds_overdue (\d+)`)

func pollingScale(t *testing.T, feeds, minutes int) {
	const interval = time.Minute
	rd := startRedis(t, "--appendonly", "no")
	st := rd.Store(t)
	ctx := context.Background()

	// Polls counted by the second since start (the slot past the end
	// takes whatever comes after).
	start := time.Now()
	perSecond := make([]atomic.Int64, (minutes+2)*60+1)
	var notModified atomic.Int64
	h := feedtest.Unchanged(func() {
		s := min(int(time.Since(start)/time.Second), len(perSecond)-1)
		perSecond[s].Add(1)
	}, &notModified)
	hosts, err := feedtest.Hosts(t, 32, h)
	if err != nil {
		t.Fatal(err)
	}

	// The feeds, added as `feeds add` adds one whose kind is known.
	adder := watcher.New(st, nil, interval, nil)
	var wg sync.WaitGroup
	var addErr atomic.Value
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < feeds; i += 8 {
				if _, err := adder.AddFeed(ctx, fmt.Sprintf("http://%s/feed/%d.xml", hosts[i%len(hosts)], i), interval, 0); err != nil {
					addErr.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := addErr.Load().(error); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d feeds added in %s", feeds, time.Since(start).Round(time.Second))

	w := newHerald(t, "watcher", "watcher", world{Redis: rd.URL(), Extra: []string{"HERALD_POLL_INTERVAL=1m"}})
	w.Start()
	began := int(time.Since(start) / time.Second)
	cpu0 := processCPU(w.Pid())
	type minute struct {
		cpu           time.Duration
		polls, peak   int64
		overdue       int64
		overdueRead   bool
		peakOverMean  float64
		firstSec, end int
	}
	var ms []minute
	for m := range minutes {
		end := began + (m+1)*60
		time.Sleep(time.Until(start.Add(time.Duration(end) * time.Second)))
		cpu := processCPU(w.Pid())
		x := minute{cpu: cpu - cpu0, firstSec: end - 60, end: end}
		cpu0 = cpu
		for s := x.firstSec; s < end; s++ {
			c := perSecond[s].Load()
			x.polls += c
			x.peak = max(x.peak, c)
		}
		if x.polls > 0 {
			x.peakOverMean = float64(x.peak) / (float64(x.polls) / 60)
		}
		if mm := overdueMetric.FindStringSubmatch(w.body("/metrics")); mm != nil {
			x.overdue, _ = strconv.ParseInt(mm[1], 10, 64)
			x.overdueRead = true
		}
		ms = append(ms, x)
		t.Logf("minute %d: herald CPU %.1f s (%.2f cores), %d polls, busiest second %d (%.2f x the mean), herald_feeds_overdue %d (load %s)",
			m+1, x.cpu.Seconds(), x.cpu.Seconds()/60, x.polls, x.peak, x.peakOverMean, x.overdue, loadAvg())
	}
	steady := ms[len(ms)-2:]
	var cpu time.Duration
	var polls int64
	worst := 0.0
	for _, x := range steady {
		cpu += x.cpu
		polls += x.polls
		worst = max(worst, x.peakOverMean)
	}
	fmt.Printf("\npolling (%d feeds every minute, all 304, one watcher process; load %s):\n  steady state (last 2 of %d minutes): herald CPU %.1f s a minute (%.2f cores; target < 1), %.0f polls a minute (%.0f%% of the feeds), busiest second %.2f x the mean (target <= 3), herald_feeds_overdue %d and %d (target 0)\n  CPU per 1,000 polls: %.2f s\n\n",
		feeds, loadAvg(), minutes, cpu.Seconds()/2, cpu.Seconds()/120, float64(polls)/2, float64(polls)/2/float64(feeds)*100, worst, steady[0].overdue, steady[1].overdue, cpu.Seconds()/(float64(polls)/1000))
	report.add(reportRow{Scenario: fmt.Sprintf("polling %d", feeds), Note: fmt.Sprintf("%.2f cores, peak %.2f x mean, overdue %d", cpu.Seconds()/120, worst, steady[1].overdue)})
	for i, x := range steady {
		if !x.overdueRead {
			t.Errorf("steady minute %d: no herald_feeds_overdue in /metrics", i+1)
		} else if x.overdue != 0 {
			t.Errorf("steady minute %d: herald_feeds_overdue %d, want 0", i+1, x.overdue)
		}
		if x.peakOverMean > 3 {
			t.Errorf("steady minute %d: the busiest second had %d polls, %.2f x the mean, want at most 3", i+1, x.peak, x.peakOverMean)
		}
	}
	if notModified.Load() == 0 {
		t.Error("no feed was answered 304: the watcher did not send the ETag back")
	}
}

// processCPU is the user and system CPU time of process pid so far.
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // clock ticks (USER_HZ = 100)
}
