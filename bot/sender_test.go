package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

// quietLog discards logs unless -v asks for them.
func quietLog(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// apiClient is a Bot API client of the double with a pooled transport.
func apiClient(t testing.TB, srv *telegramtest.Server) *tg.Bot {
	t.Helper()
	api, err := tg.New(srv.Token, tg.WithServerURL(srv.URL), tg.WithSkipGetMe(), tg.WithHTTPClient(time.Minute, NewHTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// putArticle stores an article as the watcher does.
func putArticle(t testing.TB, st *store.Store, id, title, text string) *article.Article {
	t.Helper()
	a := &article.Article{ID: id, URL: "https://news.example/" + id, Title: title, Text: text, Source: "Example News"}
	b, _ := json.Marshal(a)
	if err := st.Redis.Set(context.Background(), articles.Key(st, id), b, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	return a
}

// addSub stores a Telegram subscriber following topics.
func addSub(t testing.TB, subs *subscriptions.Store, chat int64, topics ...string) *subscriptions.Subscriber {
	t.Helper()
	s := &subscriptions.Subscriber{ID: subscriptions.TelegramID(chat), Kind: subscriptions.KindTelegram, ChatID: chat,
		Status: subscriptions.StatusActive, Frequency: ModeInstant, TZ: "UTC", Topics: topics,
		Created: time.Now().Add(-time.Hour)}
	if err := subs.Put(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

func enqueue(t testing.TB, st *store.Store, chat int64, art, topic string) {
	t.Helper()
	alert := delivery.Alert{Sub: subscriptions.TelegramID(chat), ChatID: chat, Article: art, Topic: topic}
	_, _, err := delivery.EnqueueBatch(context.Background(), st, art, []delivery.Alert{alert}, nil)
	if err != nil {
		t.Fatal(err)
	}
}

// runSender starts a sender until the test ends.
func runSender(t testing.TB, s *Sender) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestSenderRetryAfterThenOnce(t *testing.T) {
	st := storetest.New(t)
	subs := subscriptions.NewStore(st)
	srv := telegramtest.New(t)
	srv.AddChat(telegramtest.Chat{ID: 7, Type: telegramtest.Private})
	api := apiClient(t, srv)
	addSub(t, subs, 7, "belarus")
	putArticle(t, st, "a1", "Belarus news", "Belarus today.")
	// A message just went to the chat: the first try gets a 429.
	if _, err := api.SendMessage(context.Background(), &tg.SendMessageParams{ChatID: 7, Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	s := NewSender(st, subs, &APITransport{API: api}, quietLog(t))
	runSender(t, s)
	enqueue(t, st, 7, "a1", "belarus")
	srv.WaitSentTo(10*time.Second, 7, 2)
	// Once the alert is off the queue nothing can send it again.
	waitAcked(t, st)
	if got := srv.SentTo(7); len(got) != 2 {
		for _, m := range got {
			t.Log(m.Plain)
		}
		t.Fatalf("chat got %d messages, want 2", len(got))
	}
}

func TestSenderGathersHoldsAndDeactivates(t *testing.T) {
	st := storetest.New(t)
	subs := subscriptions.NewStore(st)
	srv := telegramtest.New(t)
	for _, id := range []int64{11, 12, 13, 14} {
		srv.AddChat(telegramtest.Chat{ID: id, Type: telegramtest.Private})
	}
	srv.Block(12)
	api := apiClient(t, srv)
	for i := range 3 {
		putArticle(t, st, fmt.Sprintf("g%d", i), fmt.Sprintf("Belarus <story> %d", i), "Belarus & more.")
	}
	addSub(t, subs, 11, "belarus")
	addSub(t, subs, 12, "belarus")
	paused := addSub(t, subs, 13, "belarus")
	paused.PausedUntil = time.Now().Add(time.Hour)
	subs.Put(context.Background(), paused)
	hourly := addSub(t, subs, 14, "belarus")
	hourly.Frequency = ModeHourly
	subs.Put(context.Background(), hourly)
	for i := range 3 {
		for _, c := range []int64{11, 12, 13, 14} {
			enqueue(t, st, c, fmt.Sprintf("g%d", i), "belarus")
		}
	}
	s := NewSender(st, subs, &APITransport{API: api}, quietLog(t))
	runSender(t, s)
	msgs := srv.WaitSentTo(10*time.Second, 11, 1)
	srv.WaitUntil(10*time.Second, func() bool {
		n := 0
		for _, m := range srv.SentTo(11) {
			n += strings.Count(m.Text, "news.example/g")
		}
		return n == 3
	})
	msgs = srv.SentTo(11)
	if len(msgs) > 2 || !strings.Contains(msgs[len(msgs)-1].Plain, "new articles") && len(msgs) != 3 {
		t.Fatalf("3 alerts waiting went as %d messages", len(msgs))
	}
	for _, m := range msgs {
		if strings.Contains(m.Text, "<story>") {
			t.Fatalf("unescaped title: %s", m.Text)
		}
	}
	ctx := context.Background()
	waitUntil(t, func() bool {
		x, _ := subs.Get(ctx, "tg:12")
		return x.Status == subscriptions.StatusInactive
	})
	waitUntil(t, func() bool { n, _ := st.Redis.LLen(ctx, HeldKey(st, "tg:14")).Result(); return n == 3 })
	if _, err := st.Redis.ZScore(ctx, DueKey(st, "tg:14"), "tg:14").Result(); err != nil {
		t.Fatalf("hourly chat not scheduled: %v", err)
	}
	// Every alert was sent, dropped (paused) or moved to the held list: none
	// is left that could still reach the paused or the hourly chat.
	waitAcked(t, st)
	if n := len(srv.SentTo(13)) + len(srv.SentTo(14)); n != 0 {
		t.Fatalf("paused or hourly chats got %d messages", n)
	}
	// The round-up falls due: one gathered message.
	st.Redis.ZAdd(ctx, DueKey(st, "tg:14"), redis.Z{Score: 1, Member: "tg:14"})
	got := srv.WaitSentTo(10*time.Second, 14, 1)
	if !strings.Contains(got[0].Plain, "3 new articles") {
		t.Fatalf("round-up = %q", got[0].Plain)
	}
}

// waitAcked waits until every alert queued was read and acknowledged by
// the senders' group: nothing is in hand any more.
func waitAcked(t *testing.T, st *store.Store) {
	t.Helper()
	// Long enough for two sends that each wait out sendGrace.
	waitFor(t, 30*time.Second, func() bool {
		for _, key := range delivery.TelegramQueues(st) {
			if !streamAcked(st, key) {
				return false
			}
		}
		return true
	})
}

// streamAcked says whether the senders' group read a stream up to its
// last entry and left nothing unacknowledged.
func streamAcked(st *store.Store, key string) bool {
	ctx := context.Background()
	last, err := st.Redis.XRevRangeN(ctx, key, "+", "-", 1).Result()
	if err != nil {
		return false
	}
	gs, err := st.Redis.XInfoGroups(ctx, key).Result()
	if err != nil {
		return false
	}
	for _, g := range gs {
		if g.Name == delivery.TelegramGroup {
			// Read up to the last entry, and nothing left unacknowledged.
			// An empty stream was trimmed: everything in it was acked.
			return g.Pending == 0 && (len(last) == 0 || g.LastDeliveredID == last[0].ID)
		}
	}
	return false
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	waitFor(t, 10*time.Second, cond)
}

func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met in %s", timeout)
		}
	}
}
