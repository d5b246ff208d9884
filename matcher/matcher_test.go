package matcher

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/watcher"
)

func putArticle(t *testing.T, st *store.Store, a *article.Article) {
	t.Helper()
	b, _ := json.Marshal(a)
	if err := st.Redis.Set(context.Background(), watcher.ArticleKey(st, a.ID), b, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
}

// Two matchers on one Redis both pick up a topic added after they started,
// within a second, and re-matching an article queues nothing twice.
func TestMatchersFollowChanges(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := storetest.New(t)
	subs := subscriptions.NewStore(st)
	if err := subs.Put(ctx, &subscriptions.Subscriber{ID: "tg:1", Kind: subscriptions.KindTelegram, ChatID: 1, Status: subscriptions.StatusActive}); err != nil {
		t.Fatal(err)
	}
	var ms []*Matcher
	for range 2 {
		m := New(st, subs, nil)
		from, err := m.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		go m.Follow(ctx, from)
		ms = append(ms, m)
	}
	a := &article.Article{ID: "a1", URL: "https://news.example/a1", Title: "Drones over Minsk", Text: "Belarus tested new drones."}
	putArticle(t, st, a)

	added := time.Now()
	if _, err := subs.AddTopic(ctx, "tg:1", "drone"); err != nil {
		t.Fatal(err)
	}
	doc := subscriptions.NewDoc(a.Title, a.URL, a.Text)
	for i, m := range ms {
		for {
			m.mu.RLock()
			n := len(m.idx.Match(doc))
			m.mu.RUnlock()
			if n == 1 {
				break
			}
			if time.Since(added) > time.Second {
				t.Fatalf("matcher %d did not index the new topic within a second", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	for range 3 { // an article handled again after a crash queues nothing new
		if err := ms[0].Handle(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
		if err := ms[1].Handle(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
	}
	n, err := st.Redis.XLen(ctx, delivery.TelegramQueue(st)).Result()
	if err != nil || n != 1 {
		t.Fatalf("alert queue has %d entries (err %v), want exactly 1", n, err)
	}

	// Removing the topic stops matches everywhere; a paused subscriber gets nothing.
	if _, err := subs.RemoveTopic(ctx, "tg:1", 1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for _, m := range ms {
		for {
			m.mu.RLock()
			n := len(m.idx.Match(doc))
			m.mu.RUnlock()
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("a removed topic still matches after a second")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
