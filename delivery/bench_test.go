package delivery

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/herald-news/herald/store/storetest"
)

// BenchmarkEnqueueBatch queues one story for 200 Telegram chats and 100
// email readers, the matcher's hot path; each round is a new story, so
// every delivery is queued. deliveries/s counts alerts and digest items
// queued per second of wall time (the Redis named by
// HERALD_TEST_REDIS_URL, one server or a cluster).
func BenchmarkEnqueueBatch(b *testing.B) {
	st := storetest.New(b)
	ctx := context.Background()
	alerts := make([]Alert, 200)
	for i := range alerts {
		alerts[i] = Alert{Sub: fmt.Sprintf("tg:%d", i), ChatID: int64(i + 1), Article: "a", Topic: "belarus"}
	}
	items := make([]Digest, 100)
	for i := range items {
		items[i] = Digest{Sub: fmt.Sprintf("em:%d", i), Item: Item{Article: "a", Topic: "belarus", At: time.Unix(1700000000, 0)}}
	}
	b.ReportAllocs()
	n, queued := 0, 0
	start := time.Now()
	for b.Loop() {
		n++
		qa, qi, err := EnqueueBatch(ctx, st, fmt.Sprintf("story%d", n), alerts, items)
		if err != nil {
			b.Fatal(err)
		}
		queued += qa + qi
	}
	if queued != n*(len(alerts)+len(items)) {
		b.Fatalf("queued %d deliveries in %d rounds, want %d", queued, n, n*(len(alerts)+len(items)))
	}
	b.ReportMetric(float64(queued)/time.Since(start).Seconds(), "deliveries/s")
}
