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

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/watcher"
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
	if err := st.Redis.Set(context.Background(), watcher.ArticleKey(st, id), b, time.Hour).Err(); err != nil {
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
	_, err := delivery.EnqueueTelegram(context.Background(), st, art, delivery.Alert{Sub: subscriptions.TelegramID(chat), ChatID: chat, Article: art, Topic: topic})
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
	time.Sleep(2500 * time.Millisecond)
	if got := srv.SentTo(7); len(got) != 2 {
		for _, m := range got {
			fmt.Println(m.Plain)
		}
		t.Fatalf("chat got %d messages, want 2", len(got))
	}
}
