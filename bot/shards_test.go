package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

// An upgrade from the unsharded queue loses nothing: alerts an earlier
// version left in {tg}:queue are sent (or held, for a round-up, in {tg}),
// a round-up it held in {tg}:held goes out, and new alerts come through
// the subscriber's shard.
func TestSenderDrainsUnshardedQueue(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	subs := subscriptions.NewStore(st)
	srv := telegramtest.New(t)
	for _, id := range []int64{21, 22} {
		srv.AddChat(telegramtest.Chat{ID: id, Type: telegramtest.Private})
	}
	for _, id := range []string{"u1", "u2", "u3", "u4"} {
		putArticle(t, st, id, "Belarus "+id, "Belarus today.")
	}
	addSub(t, subs, 21, "belarus")
	hourly := addSub(t, subs, 22, "belarus")
	hourly.Frequency = ModeHourly
	if err := subs.Put(ctx, hourly); err != nil {
		t.Fatal(err)
	}
	// What an earlier version left: two queued alerts and a held one.
	old := st.Key("{tg}", "queue")
	if err := st.Redis.XGroupCreateMkStream(ctx, old, delivery.TelegramGroup, "0").Err(); err != nil {
		t.Fatal(err)
	}
	for _, a := range []struct{ sub, chat, art string }{{"tg:21", "21", "u1"}, {"tg:22", "22", "u2"}} {
		if err := st.Redis.XAdd(ctx, &redis.XAddArgs{Stream: old, Values: []any{"sub", a.sub, "chat", a.chat, "article", a.art, "topic", "belarus"}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	st.Redis.RPush(ctx, st.Key("{tg}", "held", "tg:22"), `{"a":"u3","t":"belarus"}`)
	st.Redis.ZAdd(ctx, st.Key("{tg}", "due"), redis.Z{Score: float64(time.Now().Add(time.Hour).UnixMilli()), Member: "tg:22"})
	// And one alert queued by this version.
	enqueue(t, st, 21, "u4", "belarus")
	if n, _ := st.Redis.XLen(ctx, delivery.TelegramQueue(st, "tg:21")).Result(); n != 1 {
		t.Fatalf("the new alert is not in its shard (%d entries there)", n)
	}

	s := NewSender(st, subs, &APITransport{API: apiClient(t, srv)}, quietLog(t))
	runSender(t, s)
	links := func(chat int64) string {
		var b strings.Builder
		for _, m := range srv.SentTo(chat) {
			b.WriteString(m.Text)
		}
		return b.String()
	}
	srv.WaitUntil(10*time.Second, func() bool {
		got := links(21)
		return strings.Contains(got, "news.example/u1") && strings.Contains(got, "news.example/u4")
	})
	waitAcked(t, st)
	if n, _ := st.Redis.LLen(ctx, st.Key("{tg}", "held", "tg:22")).Result(); n != 2 {
		t.Fatalf("the hourly chat's old held list has %d alerts, want 2 (the held one and the one from the old queue)", n)
	}
	if n := len(srv.SentTo(22)); n != 0 {
		t.Fatalf("the hourly chat got %d messages before its round-up", n)
	}
	st.Redis.ZAdd(ctx, st.Key("{tg}", "due"), redis.Z{Score: 1, Member: "tg:22"})
	srv.WaitSentTo(10*time.Second, 22, 1)
	if got := links(22); !strings.Contains(got, "news.example/u2") || !strings.Contains(got, "news.example/u3") {
		t.Fatalf("round-up = %q, want u2 and u3", got)
	}
	if n := strings.Count(links(21), "news.example/u"); n != 2 {
		t.Fatalf("chat 21 got %d links, want 2:\n%s", n, links(21))
	}
}
