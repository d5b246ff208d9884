package delivery_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

// A crash between pushing a digest item and marking its reader pending
// leaves the list where no sender looks; Sweep finds it, and only it.
func TestSweepFindsStrandedDigests(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	it, _ := json.Marshal(delivery.Item{Article: "a1", Topic: "belarus", At: time.Unix(1_800_000_000, 0)})
	// Stranded: the list as the crash left it, without the pending mark.
	if err := st.Redis.RPush(ctx, delivery.DigestKey(st, "mail:stranded"), it).Err(); err != nil {
		t.Fatal(err)
	}
	// Queued properly: already pending, not reported.
	queued := []delivery.Digest{{Sub: "mail:queued", Item: delivery.Item{Article: "a2", Topic: "x"}}}
	if _, _, err := delivery.EnqueueBatch(ctx, st, "s1", nil, queued); err != nil {
		t.Fatal(err)
	}
	// Keys beside them that are no digest lists, and a subscriber hash.
	st.Redis.Set(ctx, subscriptions.Key(st, "mail:other", "got", "s1"), "1", 0)
	st.Redis.HSet(ctx, subscriptions.Key(st, "mail:other"), "k", "email")

	found, err := delivery.Sweep(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(found, []string{"mail:stranded"}) {
		t.Fatalf("Sweep found %v, want [mail:stranded]", found)
	}
	pending, _ := delivery.Pending(ctx, st)
	slices.Sort(pending)
	if !slices.Equal(pending, []string{"mail:queued", "mail:stranded"}) {
		t.Fatalf("pending after the sweep = %v", pending)
	}
	if found, err := delivery.Sweep(ctx, st); err != nil || len(found) != 0 {
		t.Fatalf("second Sweep = %v, %v; want nothing new", found, err)
	}
}
