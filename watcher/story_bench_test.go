package watcher

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/fetch"
	"github.com/herald-news/herald/store/storetest"
)

// BenchmarkJoinStory measures one near-duplicate lookup (the Lua script)
// with 20,000 stories in the 72-hour window, a busy deployment's volume.
func BenchmarkJoinStory(b *testing.B) {
	st := storetest.New(b)
	w := New(st, fetch.New(fetch.Options{}), time.Minute, nil)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	const stories = 20000
	now := float64(time.Now().UnixMilli())
	pipe := st.Redis.Pipeline()
	for i := range stories {
		fp := rng.Uint64()
		member := fmt.Sprintf("%016x%032x", fp, i)
		for band := range storyBands {
			pipe.ZAdd(ctx, w.storyBucketKey(band, (fp>>(band*storyBandBits))&(1<<storyBandBits-1)), redis.Z{Score: now, Member: member})
		}
		if i%1000 == 999 {
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		b.Fatal(err)
	}
	text := longBenchText()
	b.ResetTimer()
	for i := range b.N {
		a := &article.Article{ID: fmt.Sprintf("%032x", stories+i), Text: fmt.Sprintf("%s %d", text, i)}
		fingerprint(a)
		if _, err := w.joinStory(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/lookup")
}

func longBenchText() string {
	s := ""
	for i := range 40 {
		s += fmt.Sprintf("sentence %d about the harbour and the council vote on the tram line ", i)
	}
	return s
}
