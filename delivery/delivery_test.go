package delivery

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/store/storetest"
)

func alert(sub string, chat int64, article string) Alert {
	return Alert{Sub: sub, ChatID: chat, Article: article, Topic: "belarus"}
}

func digest(sub, article string) Digest {
	return Digest{Sub: sub, Item: Item{Article: article, Topic: "belarus", At: time.Unix(1700000000, 0).UTC()}}
}

// queued returns the alerts in the Telegram queue's shards, as "sub chat
// article topic", by subscriber and oldest first for each (the only order
// the queue keeps: a subscriber's alerts are in one shard).
func queued(t *testing.T, st *store.Store) []string {
	t.Helper()
	var out []string
	for _, key := range TelegramQueues(st) {
		msgs, err := st.Redis.XRange(context.Background(), key, "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if key != TelegramQueue(st, m.Values["sub"].(string)) {
				t.Errorf("alert for %v in %s, not in its shard", m.Values["sub"], key)
			}
			out = append(out, fmt.Sprintf("%v %v %v %v", m.Values["sub"], m.Values["chat"], m.Values["article"], m.Values["topic"]))
		}
	}
	slices.SortStableFunc(out, func(a, b string) int {
		return strings.Compare(strings.Fields(a)[0], strings.Fields(b)[0])
	})
	return out
}

// waiting returns the articles waiting in a reader's digest, oldest first.
func waiting(t *testing.T, st *store.Store, sub string) []string {
	t.Helper()
	items, err := Items(context.Background(), st, sub)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Article
	}
	return out
}

func isPending(t *testing.T, st *store.Store, sub string) bool {
	t.Helper()
	ok, err := st.Redis.SIsMember(context.Background(), PendingKey(st), sub).Result()
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestEnqueueBatchOncePerSubscriberAndStory(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	steps := []struct {
		name       string
		story      string
		alerts     []Alert
		items      []Digest
		wantAlerts int
		wantItems  int
	}{
		{"first time", "s1", []Alert{alert("tg:1", 1, "a1")}, []Digest{digest("mail:x", "a1")}, 1, 1},
		{"the same again", "s1", []Alert{alert("tg:1", 1, "a1")}, []Digest{digest("mail:x", "a1")}, 0, 0},
		{"the same story from another feed", "s1", []Alert{alert("tg:1", 1, "a2")}, []Digest{digest("mail:x", "a2")}, 0, 0},
		{"another story", "s2", []Alert{alert("tg:1", 1, "a3")}, []Digest{digest("mail:x", "a3")}, 1, 1},
		{"another subscriber", "s1", []Alert{alert("tg:2", 2, "a1")}, []Digest{digest("mail:y", "a1")}, 1, 1},
		{"twice in one batch", "s3", []Alert{alert("tg:1", 1, "a4"), alert("tg:1", 1, "a4")},
			[]Digest{digest("mail:x", "a4"), digest("mail:x", "a4")}, 1, 1},
	}
	for _, s := range steps {
		na, ni, err := EnqueueBatch(ctx, st, s.story, s.alerts, s.items)
		if err != nil || na != s.wantAlerts || ni != s.wantItems {
			t.Fatalf("%s: queued %d alerts and %d items (%v), want %d and %d", s.name, na, ni, err, s.wantAlerts, s.wantItems)
		}
	}
	wantQueue := []string{"tg:1 1 a1 belarus", "tg:1 1 a3 belarus", "tg:1 1 a4 belarus", "tg:2 2 a1 belarus"}
	if got := queued(t, st); strings.Join(got, "|") != strings.Join(wantQueue, "|") {
		t.Fatalf("telegram queue = %q, want %q", got, wantQueue)
	}
	if got := strings.Join(waiting(t, st, "mail:x"), " "); got != "a1 a3 a4" {
		t.Fatalf("mail:x waits for %q", got)
	}
	if got := strings.Join(waiting(t, st, "mail:y"), " "); got != "a1" {
		t.Fatalf("mail:y waits for %q", got)
	}
	if !isPending(t, st, "mail:x") || !isPending(t, st, "mail:y") {
		t.Fatal("a reader with items is not pending")
	}
}

// A story matching more subscribers than one pipeline carries is queued
// once for each of them, and a repeat of it queues nothing.
func TestEnqueueBatchAcrossPipelines(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	n := 2*batchSize + 17
	alerts := make([]Alert, n)
	items := make([]Digest, n)
	for i := range n {
		alerts[i] = alert(fmt.Sprintf("tg:%d", i+1), int64(i+1), "a1")
		items[i] = digest(fmt.Sprintf("mail:%d", i), "a1")
	}
	for round, want := range []int{n, 0} {
		na, ni, err := EnqueueBatch(ctx, st, "s1", alerts, items)
		if err != nil || na != want || ni != want {
			t.Fatalf("round %d: queued %d alerts and %d items (%v), want %d each", round, na, ni, err, want)
		}
	}
	if got := len(queued(t, st)); got != n {
		t.Fatalf("%d alerts in the queue, want %d", got, n)
	}
	if got, err := Pending(ctx, st); err != nil || len(got) != n {
		t.Fatalf("%d readers pending (%v), want %d", len(got), err, n)
	}
}

// beforeHook calls fn with each command before it goes to Redis (commands
// in pipelines excepted), so a test can look at Redis at that moment.
type beforeHook struct {
	fn func(ctx context.Context, cmd redis.Cmder)
}

var _ redis.Hook = beforeHook{}

func (h beforeHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h beforeHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.fn(ctx, cmd)
		return next(ctx, cmd)
	}
}

func (h beforeHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// on reports whether cmd is the command name on key.
func on(cmd redis.Cmder, name, key string) bool {
	args := cmd.Args()
	return strings.EqualFold(cmd.Name(), name) && len(args) > 1 && fmt.Sprint(args[1]) == key
}

// The pending set is in another slot than a reader's digest list, so the
// two cannot change in one step: the item must be in the list before the
// reader is marked pending, or a mailer could find the reader, see an
// empty list, clear the mark and strand the item.
func TestDigestItemIsQueuedBeforeTheReaderIsPending(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	var mu sync.Mutex
	var marks int
	var early []string
	st.Redis.AddHook(beforeHook{fn: func(ctx context.Context, cmd redis.Cmder) {
		if !on(cmd, "sadd", PendingKey(st)) {
			return
		}
		for _, a := range cmd.Args()[2:] {
			sub := fmt.Sprint(a)
			n, err := st.Redis.LLen(ctx, DigestKey(st, sub)).Result()
			mu.Lock()
			marks++
			if err != nil || n == 0 {
				early = append(early, sub)
			}
			mu.Unlock()
		}
	}})

	items := []Digest{digest("mail:x", "a1"), digest("mail:y", "a1")}
	if _, ni, err := EnqueueBatch(ctx, st, "s1", nil, items); err != nil || ni != 2 {
		t.Fatalf("queued %d items: %v", ni, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(early) > 0 {
		t.Fatalf("readers marked pending before their item was in: %v", early)
	}
	if marks != 2 {
		t.Fatalf("saw %d readers marked pending, want 2", marks)
	}
}

func TestDoneClearsThePendingMarkOnlyWhenNothingWaits(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	for _, story := range []string{"s1", "s2"} {
		if _, _, err := EnqueueBatch(ctx, st, story, nil, []Digest{digest("mail:x", "a-"+story)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := Done(ctx, st, "mail:x", 1); err != nil {
		t.Fatal(err)
	}
	if got := waiting(t, st, "mail:x"); len(got) != 1 || got[0] != "a-s2" || !isPending(t, st, "mail:x") {
		t.Fatalf("after sending one of two: waiting %v, pending %v", got, isPending(t, st, "mail:x"))
	}
	if err := Done(ctx, st, "mail:x", 1); err != nil {
		t.Fatal(err)
	}
	if got := waiting(t, st, "mail:x"); len(got) != 0 || isPending(t, st, "mail:x") {
		t.Fatalf("after sending all: waiting %v, pending %v", got, isPending(t, st, "mail:x"))
	}
}

// A matcher may queue an item between Done's look at the emptied list and
// its removal of the pending mark (the matcher's own mark then finds the
// reader still marked and changes nothing): Done must leave the reader
// pending, or the item waits unseen until the reader's next match.
func TestDoneKeepsAReaderPendingWhenAnItemArrivesMeanwhile(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	if _, _, err := EnqueueBatch(ctx, st, "s1", nil, []Digest{digest("mail:x", "a1")}); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	arrived := false
	st.Redis.AddHook(beforeHook{fn: func(ctx context.Context, cmd redis.Cmder) {
		if !on(cmd, "srem", PendingKey(st)) {
			return
		}
		once.Do(func() {
			_, ni, err := EnqueueBatch(ctx, st, "s2", nil, []Digest{digest("mail:x", "a2")})
			arrived = err == nil && ni == 1
		})
	}})

	if err := Done(ctx, st, "mail:x", 1); err != nil {
		t.Fatal(err)
	}
	if !arrived {
		t.Fatal("the item meant to arrive between Done's steps did not")
	}
	if got := waiting(t, st, "mail:x"); len(got) != 1 || got[0] != "a2" {
		t.Fatalf("waiting %v, want the item that arrived", got)
	}
	if !isPending(t, st, "mail:x") {
		t.Fatal("Done cleared the pending mark of a reader whose item arrived meanwhile")
	}
}

// A subscriber's shard is part of the stored format (FNV-1a 64 of the id
// modulo TelegramShards, as hash/fnv computes it), and ids spread over
// every shard.
func TestShardOf(t *testing.T) {
	for id, want := range map[string]int{"tg:1": 9, "tg:-1001234567890": 13, "mail:abc": 4} {
		if got := ShardOf(id); got != want {
			t.Errorf("ShardOf(%q) = %d, want %d", id, got, want)
		}
	}
	count := make([]int, TelegramShards)
	for i := range 1600 {
		count[ShardOf(fmt.Sprintf("tg:%d", i))]++
	}
	for i, n := range count {
		if n < 60 || n > 140 {
			t.Errorf("shard %d got %d of 1,600 chats: %v", i, n, count)
		}
	}
	if got := TelegramQueue(storetest.New(t), "tg:1"); !strings.HasSuffix(got, "{tg:9}:queue") {
		t.Errorf("tg:1's queue is %s", got)
	}
}

// Markers of earlier versions (a key per subscriber and story) are still
// honoured on a Redis where alerts were queued before this version, and
// never looked for on a new one.
func TestEarlierMarkersAreHonouredAfterAnUpgrade(t *testing.T) {
	ctx := context.Background()
	t.Run("upgrade", func(t *testing.T) {
		st := storetest.New(t)
		// What an earlier version left: an alert queued, and its marker.
		sub := "tg:7"
		shard := ShardOf(sub)
		st.Redis.XAdd(ctx, &redis.XAddArgs{Stream: TelegramQueue(st, sub), Values: map[string]any{"sub": sub, "chat": 7, "article": "a0", "topic": "belarus"}})
		st.Redis.Set(ctx, legacyMarker(st, shard, sub, "s1"), "1", time.Hour)
		na, _, err := EnqueueBatch(ctx, st, "s1", []Alert{alert(sub, 7, "a1"), alert("tg:8", 8, "a1")}, nil)
		if err != nil || na != 1 {
			t.Fatalf("queued %d alerts (%v), want 1: tg:7 had the story under an earlier marker", na, err)
		}
		if until, _ := st.Redis.Get(ctx, markersKey(st)).Int64(); until < time.Now().Add(MarkerTTL-time.Hour).Unix() {
			t.Errorf("earlier markers are looked for until %d, want about %s from now", until, MarkerTTL)
		}
		if na, _, _ := EnqueueBatch(ctx, st, "s1", []Alert{alert("tg:8", 8, "a2")}, nil); na != 0 {
			t.Errorf("queued tg:8's story twice")
		}
	})
	t.Run("new installation", func(t *testing.T) {
		st := storetest.New(t)
		sub := "tg:7"
		st.Redis.Set(ctx, legacyMarker(st, ShardOf(sub), sub, "s1"), "1", time.Hour) // not Herald's: no queue ever had an entry
		na, _, err := EnqueueBatch(ctx, st, "s1", []Alert{alert(sub, 7, "a1")}, nil)
		if err != nil || na != 1 {
			t.Fatalf("queued %d alerts (%v), want 1", na, err)
		}
		if v, err := st.Redis.Get(ctx, markersKey(st)).Result(); err != nil || v != "0" {
			t.Errorf("marker format = %q (%v), want 0: nothing to look for", v, err)
		}
		ttl, _ := st.Redis.TTL(ctx, queuedKey(st, ShardOf(sub), "s1")).Result()
		if ttl < MarkerTTL-time.Minute {
			t.Errorf("the story's marker hash expires in %s, want %s", ttl, MarkerTTL)
		}
	})
}

// The record of the markers' form does not expire: an expired one would
// make the next enqueue, finding the queues used, look for old markers
// for another 30 days.
func TestMarkerFormIsKept(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	if _, _, err := EnqueueBatch(ctx, st, "s1", []Alert{alert("tg:1", 1, "a1")}, nil); err != nil {
		t.Fatal(err)
	}
	if ttl, err := st.Redis.TTL(ctx, markersKey(st)).Result(); err != nil || ttl != -1 {
		t.Fatalf("%s has TTL %s (%v), want none", markersKey(st), ttl, err)
	}
}
