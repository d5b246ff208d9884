//go:build faults

package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
)

// TestScale seeds HERALD_SCALE_N (default 1,000,000) subscribers with three
// topics each into a Redis of its own and measures Redis memory per
// subscriber, the matcher's resident memory and start-up time with all of
// them loaded, and articles matched per second. It runs only with
// HERALD_SCALE=1: it takes minutes and a few GiB.
func TestScale(t *testing.T) {
	needRedis(t)
	if os.Getenv("HERALD_SCALE") != "1" {
		t.Skip("scale measurement skipped: set HERALD_SCALE=1 (and HERALD_SCALE_N, default 1000000) to run it")
	}
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("HERALD_SCALE_N")); err == nil && v > 0 {
		n = v
	}
	rd := startRedis(t, "--appendonly", "no")
	st := rd.Store(t)
	ctx := context.Background()
	vocab := vocabulary(20000)

	before := usedMemory(t, st)
	started := time.Now()
	r := rand.New(rand.NewPCG(1, 2))
	batch := make([]*subscriptions.Subscriber, 0, 10000)
	for i := range n {
		w := func() string { return vocab[r.IntN(len(vocab))] }
		chat := int64(100_000_000 + i)
		batch = append(batch, &subscriptions.Subscriber{
			ID: subscriptions.TelegramID(chat), Kind: subscriptions.KindTelegram, ChatID: chat, Status: subscriptions.StatusActive,
			Topics: []string{w(), w() + " " + w(), w() + " OR " + w()}, Created: time.Unix(1_750_000_000, 0),
		})
		if len(batch) == cap(batch) || i == n-1 {
			if err := subscriptions.NewStore(st).Import(ctx, batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	seeded := time.Since(started)
	after := usedMemory(t, st)
	changes, _ := st.Redis.MemoryUsage(ctx, subscriptions.NewStore(st).ChangesKey()).Result()
	perSub := float64(after-before) / float64(n)
	perSubHashes := float64(after-before-changes) / float64(n)
	t.Logf("seeded %d subscribers in %s; Redis used_memory +%d MiB: %.0f bytes per subscriber (%.0f without the change stream of %d KiB)",
		n, seeded.Round(time.Second), (after-before)>>20, perSub, perSubHashes, changes>>10)

	// A matcher process loads them all.
	h := newHerald(t, "matcher", "matcher", world{Redis: rd.URL()})
	t0 := time.Now()
	h.Start()
	waitUntil(t, 5*time.Minute, "subscriptions loaded", func() bool { return strings.Contains(h.logText(), "subscriptions loaded") })
	startup := time.Since(t0)
	time.Sleep(2 * time.Second)
	resident := rss(h.Pid())
	t.Logf("matcher: start-up %s, resident %d MiB; %s", startup.Round(100*time.Millisecond), resident>>20, grepLine(h.logText(), "subscriptions loaded"))

	// Articles matched per second: each names a few subscriber words among
	// words no topic uses, so it matches a realistic few hundred readers.
	const nArticles = 2000
	filler := vocabulary(25000)[20000:]
	_, err := st.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range nArticles {
			var b strings.Builder
			for j := range 300 {
				if j%100 == 0 {
					b.WriteString(vocab[r.IntN(len(vocab))] + " ")
				}
				b.WriteString(filler[r.IntN(len(filler))] + " ")
			}
			a := article.Article{ID: fmt.Sprintf("scale%05d", i), URL: fmt.Sprintf("https://example.org/a/%d", i), Title: "Scale article " + strconv.Itoa(i), Text: b.String()}
			body, _ := json.Marshal(a)
			p.Set(ctx, articles.Key(st, a.ID), body, time.Hour)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	streamKey := articles.StreamKey(st)
	waitUntil(t, time.Minute, "the matcher's consumer group", func() bool {
		g, err := st.Redis.XInfoGroups(ctx, streamKey).Result()
		return err == nil && len(g) > 0
	})
	t1 := time.Now()
	_, err = st.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range nArticles {
			p.XAdd(ctx, &redis.XAddArgs{Stream: streamKey, Values: map[string]any{"article": fmt.Sprintf("scale%05d", i)}})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Minute, "the matcher to take every article", func() bool {
		g, err := st.Redis.XInfoGroups(ctx, streamKey).Result()
		return err == nil && len(g) > 0 && g[0].EntriesRead >= nArticles && g[0].Pending == 0
	})
	took := time.Since(t1)
	queued, _ := st.Redis.XLen(ctx, "herald:{tg}:queue").Result()
	rate := float64(nArticles) / took.Seconds()
	t.Logf("matched %d articles in %s: %.0f articles/s, %d alerts queued (%.0f/s)", nArticles, took.Round(time.Millisecond), rate, queued, float64(queued)/took.Seconds())
	peak := rss(h.Pid())

	fmt.Printf("\nscale (%d subscribers x 3 topics):\n  Redis memory per subscriber: %.0f bytes (%.0f without the change stream)   target <= 300\n  herald matcher resident: %d MiB after load, %d MiB after matching   target <= 1024\n  matcher start-up: %s   target <= 20s\n  articles matched: %.0f/s (%d alerts queued for %d articles)\n  seeding took %s\n\n",
		n, perSub, perSubHashes, resident>>20, peak>>20, startup.Round(100*time.Millisecond), rate, queued, nArticles, seeded.Round(time.Second))
	report.add(reportRow{Scenario: "scale", Note: fmt.Sprintf("%d subs: %.0f B/sub in Redis, matcher %d MiB, start-up %s, %.0f articles/s", n, perSub, resident>>20, startup.Round(100*time.Millisecond), rate)})
	if perSub > 300 {
		t.Errorf("Redis memory per subscriber %.0f bytes, target 300", perSub)
	}
	if resident > 1<<30 {
		t.Errorf("matcher resident memory %d MiB, target 1024", resident>>20)
	}
	if startup > 20*time.Second {
		t.Errorf("matcher start-up %s, target 20s", startup)
	}
}

// vocabulary makes n distinct pronounceable words.
func vocabulary(n int) []string {
	cons := []string{"b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "st", "kr", "pl"}
	vows := []string{"a", "e", "i", "o", "u", "ai", "ou"}
	seen := map[string]bool{}
	out := make([]string, 0, n)
	r := rand.New(rand.NewPCG(42, 42))
	for len(out) < n {
		var b strings.Builder
		for range 2 + r.IntN(3) {
			b.WriteString(cons[r.IntN(len(cons))] + vows[r.IntN(len(vows))])
		}
		w := b.String()
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

func usedMemory(t *testing.T, st *store.Store) int64 {
	t.Helper()
	info, err := st.Redis.Info(context.Background(), "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "used_memory:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	t.Fatal("no used_memory in INFO memory")
	return 0
}

func grepLine(text, s string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
