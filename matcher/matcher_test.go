package matcher

import (
	"context"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

func putArticle(t testing.TB, st *store.Store, a *article.Article) {
	t.Helper()
	if err := articles.Save(context.Background(), st, a); err != nil {
		t.Fatal(err)
	}
}

// indexed waits until m's index gives n matches for doc. Reaching the count
// is the signal; the limit only keeps a broken matcher from hanging the
// test, and says nothing about how fast following is (see
// BenchmarkFollowChange for that).
func indexed(t testing.TB, m *Matcher, doc *subscriptions.Doc, n int) {
	t.Helper()
	limit := time.Now().Add(30 * time.Second)
	for {
		m.mu.RLock()
		got := len(m.idx.Match(doc))
		m.mu.RUnlock()
		if got == n {
			return
		}
		if time.Now().After(limit) {
			t.Fatalf("the index gives %d matches, want %d: the change never reached it", got, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Two matchers on one Redis both pick up a topic added after they started,
// and re-matching an article queues nothing twice.
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

	if _, err := subs.AddTopic(ctx, "tg:1", "drone"); err != nil {
		t.Fatal(err)
	}
	doc := subscriptions.NewDoc(a.Title, a.URL, articles.MatchText(a))
	for _, m := range ms {
		indexed(t, m, doc, 1)
	}

	for range 3 { // an article handled again after a crash queues nothing new
		if err := ms[0].Handle(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
		if err := ms[1].Handle(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
	}
	n, err := st.Redis.XLen(ctx, delivery.TelegramQueue(st, "tg:1")).Result()
	if err != nil || n != 1 {
		t.Fatalf("alert queue has %d entries (err %v), want exactly 1", n, err)
	}

	// Removing the topic stops matches everywhere; a paused subscriber gets nothing.
	if _, err := subs.RemoveTopic(ctx, "tg:1", 1); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		indexed(t, m, doc, 0)
	}
}

// A delivery shows its topic as the subscriber wrote it, though the index
// keeps only the normalised form; a topic changed since it was indexed
// shows the form the index matched.
func TestDeliveriesShowTopicsAsWritten(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	subs := subscriptions.NewStore(st)
	for _, s := range []*subscriptions.Subscriber{
		{ID: "tg:1", Kind: subscriptions.KindTelegram, ChatID: 1, Status: subscriptions.StatusActive, Topics: []string{"minsk", "Drones  Belarus"}},
		{ID: "mail:2", Kind: subscriptions.KindEmail, Email: "r@example.org", Status: subscriptions.StatusActive, Topics: []string{"Belarus drones"}},
		{ID: "tg:3", Kind: subscriptions.KindTelegram, ChatID: 3, Status: subscriptions.StatusActive, Topics: []string{"drones belarus"}},
		// More topics than a target holds itself.
		{ID: "tg:4", Kind: subscriptions.KindTelegram, ChatID: 4, Status: subscriptions.StatusActive, Topics: []string{"vilnius", "riga", "tallinn", "warsaw", "Drones Belarus"}},
	} {
		if err := subs.Put(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	m := New(st, subs, nil)
	if _, err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	// tg:3 rewrites its topic after the index was built, and the change
	// has not reached this matcher (it does not follow).
	st.Redis.HSet(ctx, subscriptions.Key(st, "tg:3"), "q", "Kyiv")
	a := &article.Article{ID: "a1", URL: "https://news.example/a1", Title: "Drones over Belarus", Text: "Belarus tested new drones."}
	putArticle(t, st, a)
	if err := m.Handle(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, sub := range []string{"tg:1", "tg:3", "tg:4"} {
		msgs, err := st.Redis.XRange(ctx, delivery.TelegramQueue(st, sub), "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range msgs {
			if x.Values["sub"] == sub {
				got[sub] = x.Values["topic"].(string)
			}
		}
	}
	items, err := delivery.Items(ctx, st, "mail:2")
	if err != nil || len(items) != 1 {
		t.Fatalf("mail:2 has %d items (%v), want 1", len(items), err)
	}
	got["mail:2"] = items[0].Topic
	norm, _ := subscriptions.Parse("drones belarus")
	want := map[string]string{"tg:1": "Drones  Belarus", "mail:2": "Belarus drones", "tg:3": norm.String(), "tg:4": "Drones Belarus"}
	for sub, w := range want {
		if got[sub] != w {
			t.Errorf("%s's delivery shows topic %q, want %q", sub, got[sub], w)
		}
	}
}

// A target stays 32 bytes: a partition holds millions.
func TestTargetSize(t *testing.T) {
	if n := unsafe.Sizeof(target{}); n != 32 {
		t.Errorf("a target takes %d bytes, want 32", n)
	}
}

// A subscriber whose topics change keeps in the index each topic that is
// still the same query at the same place; the others are taken out and
// filed again, and it matches by exactly its new topics.
func TestChangedSubscriberKeepsUnchangedTopics(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	subs := subscriptions.NewStore(st)
	sub := &subscriptions.Subscriber{ID: "tg:1", Kind: subscriptions.KindTelegram, ChatID: 1, Status: subscriptions.StatusActive, Topics: []string{"minsk", "belarus drones"}}
	if err := subs.Put(ctx, sub); err != nil {
		t.Fatal(err)
	}
	m := New(st, subs, nil)
	if _, err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	handles := func() []uint32 {
		num, ok := m.lookupLocked("tg:1")
		if !ok {
			t.Fatal("tg:1 is not in the matcher")
		}
		return slices.Clone(m.targets[num].handles())
	}
	before := handles()
	matches := func(title string) int {
		return len(m.idx.Match(subscriptions.NewDoc(title, "https://news.example/x", title)))
	}

	sub.Topics = []string{"minsk", "belarus drones", "kyiv"} // one more at the end
	m.apply(sub)
	if after := handles(); after[0] != before[0] || after[1] != before[1] || len(after) != 3 {
		t.Errorf("adding a third topic moved the first two: %v, then %v", before, after)
	}
	sub.Topics = []string{"kyiv", "minsk"} // moved and dropped
	m.apply(sub)
	if got := m.idx.Len(); got != 2 {
		t.Errorf("the index holds %d ids, want 2", got)
	}
	for title, want := range map[string]int{"Minsk today": 1, "Kyiv tonight": 1, "Drones over Belarus": 0, "Minsk and Kyiv": 2} {
		if got := matches(title); got != want {
			t.Errorf("%q matches %d of tg:1's topics, want %d", title, got, want)
		}
	}
}
