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
// every delivery is queued.
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
	n := 0
	for b.Loop() {
		n++
		if _, _, err := EnqueueBatch(ctx, st, fmt.Sprintf("story%d", n), alerts, items); err != nil {
			b.Fatal(err)
		}
	}
}
