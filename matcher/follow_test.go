package matcher

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

// records is a slog handler that keeps each record's message, so a test
// can wait for a log line as its signal.
type records struct {
	mu   sync.Mutex
	msgs []string
	got  chan struct{} // closed and replaced on every record
}

func newRecords() *records { return &records{got: make(chan struct{})} }

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Message)
	close(r.got)
	r.got = make(chan struct{})
	return nil
}

// wait blocks until a record whose message starts with prefix was logged.
func (r *records) wait(t *testing.T, prefix string) {
	t.Helper()
	limit := time.After(30 * time.Second)
	for {
		r.mu.Lock()
		for _, m := range r.msgs {
			if strings.HasPrefix(m, prefix) {
				r.mu.Unlock()
				return
			}
		}
		got := r.got
		r.mu.Unlock()
		select {
		case <-got:
		case <-limit:
			t.Fatalf("no %q logged", prefix)
		}
	}
}

// A change whose subscriber cannot be read is not skipped: Follow keeps
// trying it, and once the read works the change is in the index without
// the subscriber being changed (or announced) again.
func TestFollowRetriesAFailedRead(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := storetest.New(t)
	subs := subscriptions.NewStore(st)
	rec := newRecords()
	m := New(st, subs, slog.New(rec))
	from, err := m.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The change is announced while the subscriber's key cannot be read:
	// its hash is moved aside (same hash tag, so RENAME works on a
	// cluster too) and a string put in its place, which Redis answers
	// with WRONGTYPE: a real error from a real server, for that key only.
	if err := subs.Put(ctx, &subscriptions.Subscriber{ID: "tg:2", Kind: subscriptions.KindTelegram, ChatID: 2,
		Status: subscriptions.StatusActive, Topics: []string{"zeppelin"}}); err != nil {
		t.Fatal(err)
	}
	key, aside := subscriptions.Key(st, "tg:2"), subscriptions.Key(st, "tg:2", "aside")
	if err := st.Redis.Rename(ctx, key, aside).Err(); err != nil {
		t.Fatal(err)
	}
	if err := st.Redis.Set(ctx, key, "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// A later change must wait behind the failing one, not overtake it.
	if err := subs.Put(ctx, &subscriptions.Subscriber{ID: "tg:3", Kind: subscriptions.KindTelegram, ChatID: 3,
		Status: subscriptions.StatusActive, Topics: []string{"airship"}}); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() { done <- m.Follow(ctx, from) }()
	rec.wait(t, "cannot read changed subscriber")
	zeppelin := subscriptions.NewDoc("Zeppelin over the lake", "https://news.example/z", "")
	airship := subscriptions.NewDoc("Airship over the lake", "https://news.example/a", "")
	for name, doc := range map[string]*subscriptions.Doc{"the failing change": zeppelin, "the change after it": airship} {
		m.mu.RLock()
		n := len(m.idx.Match(doc))
		m.mu.RUnlock()
		if n != 0 {
			t.Fatalf("%s is indexed while the read fails", name)
		}
	}

	if err := st.Redis.Rename(ctx, aside, key).Err(); err != nil {
		t.Fatal(err)
	}
	indexed(t, m, zeppelin, 1)
	indexed(t, m, airship, 1)
	rec.wait(t, "read changed subscriber after retrying")

	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Follow returned %v after its context ended", err)
	}
}

// BenchmarkFollowChange reports how long a topic takes from AddTopic to
// the index of a matcher following the changes: the figure the old test
// asserted (under a second), reported instead.
func BenchmarkFollowChange(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := storetest.New(b)
	subs := subscriptions.NewStore(st)
	if err := subs.Put(ctx, &subscriptions.Subscriber{ID: "tg:1", Kind: subscriptions.KindTelegram, ChatID: 1, Status: subscriptions.StatusActive}); err != nil {
		b.Fatal(err)
	}
	m := New(st, subs, slog.New(slog.DiscardHandler))
	from, err := m.Load(ctx)
	if err != nil {
		b.Fatal(err)
	}
	go m.Follow(ctx, from)
	a := &article.Article{ID: "a1", URL: "https://news.example/a1", Title: "Drones over Minsk", Text: "Belarus tested new drones."}
	doc := subscriptions.NewDoc(a.Title, a.URL, articles.MatchText(a))
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := subs.AddTopic(ctx, "tg:1", "drone"); err != nil {
			b.Fatal(err)
		}
		indexed(b, m, doc, 1)
		total += time.Since(start)
		if _, err := subs.RemoveTopic(ctx, "tg:1", 1); err != nil {
			b.Fatal(err)
		}
		indexed(b, m, doc, 0)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/change")
}
