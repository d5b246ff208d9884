package articles_test

import (
	"context"
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

func TestLoad(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	want := &article.Article{ID: "a1", URL: "https://news.example/a1", Title: "Drones over Minsk", Summary: "Short.", Text: "Longer text."}
	if err := articles.Save(ctx, st, want); err != nil {
		t.Fatal(err)
	}
	got, err := articles.Load(ctx, st, "a1")
	if err != nil || got.ID != want.ID || got.Title != want.Title || got.Summary != want.Summary || got.Text != want.Text {
		t.Fatalf("Load = %+v, %v; want %+v", got, err, want)
	}
	if ttl := st.Redis.TTL(ctx, articles.Key(st, "a1")).Val(); ttl <= 0 || ttl > articles.TTL {
		t.Errorf("saved with TTL %s, want at most %s", ttl, articles.TTL)
	}

	if _, err := articles.Load(ctx, st, "missing"); !errors.Is(err, articles.ErrNotFound) {
		t.Errorf("missing article: %v, want ErrNotFound", err)
	}
	st.Redis.Set(ctx, articles.Key(st, "bad"), "{not json", 0)
	if _, err := articles.Load(ctx, st, "bad"); !errors.Is(err, articles.ErrUnreadable) || errors.Is(err, articles.ErrNotFound) {
		t.Errorf("unreadable article: %v, want ErrUnreadable", err)
	}
	// A key of the wrong type is Redis refusing, neither of the sentinels:
	// the caller should try again rather than drop the article.
	st.Redis.LPush(ctx, articles.Key(st, "list"), "x")
	if _, err := articles.Load(ctx, st, "list"); err == nil || errors.Is(err, articles.ErrNotFound) || errors.Is(err, articles.ErrUnreadable) {
		t.Errorf("wrong-type key: %v, want Redis's error", err)
	}
}

func TestLoadMany(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	for _, id := range []string{"a", "b", "c"} {
		if err := articles.Save(ctx, st, &article.Article{ID: id, Title: "title " + id}); err != nil {
			t.Fatal(err)
		}
	}
	st.Redis.Set(ctx, articles.Key(st, "bad"), "{not json", 0)
	got, err := articles.LoadMany(ctx, st, []string{"c", "missing", "a", "bad", "b", "a"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"c", "", "a", "", "b", "a"}
	if len(got) != len(want) {
		t.Fatalf("%d articles, want %d", len(got), len(want))
	}
	for i, id := range want {
		switch {
		case id == "" && got[i] != nil:
			t.Errorf("article %d is %q, want nil", i, got[i].ID)
		case id != "" && (got[i] == nil || got[i].ID != id):
			t.Errorf("article %d is %v, want %q", i, got[i], id)
		}
	}
	if got, err := articles.LoadMany(ctx, st, nil); got != nil || err != nil {
		t.Errorf("LoadMany(nil) = %v, %v", got, err)
	}

	// A missing key first must not hide a real failure after it.
	st.Redis.LPush(ctx, articles.Key(st, "list"), "x")
	if _, err := articles.LoadMany(ctx, st, []string{"missing", "list"}); err == nil {
		t.Error("a wrong-type key behind a missing one was not reported")
	}
}

func TestRecent(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	for i, id := range []string{"old", "mid", "expired", "new"} {
		if id != "expired" {
			if err := articles.Save(ctx, st, &article.Article{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
		st.Redis.ZAdd(ctx, articles.RecentKey(st), redis.Z{Score: float64(i), Member: id})
	}
	got, err := articles.Recent(ctx, st, 3)
	if err != nil {
		t.Fatal(err)
	}
	// The three newest ids, the expired one skipped: newest first.
	if len(got) != 2 || got[0].ID != "new" || got[1].ID != "mid" {
		t.Fatalf("Recent(3) = %v, want new, mid", ids(got))
	}
}

func ids(as []*article.Article) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

// MatchText holds both the feed's summary and the article's text, so that
// a topic found in either matches, whichever is longer.
func TestMatchText(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    article.Article
	}{
		{"word only in a short text", article.Article{Summary: "A long summary about the storm that reached the coast overnight.", Text: "Zeppelin."}},
		{"word only in a short summary", article.Article{Summary: "Zeppelin.", Text: "A long text about the storm that reached the coast overnight."}},
		{"no summary", article.Article{Text: "A zeppelin flew."}},
		{"no text", article.Article{Summary: "A zeppelin flew."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := subscriptions.Parse("zeppelin")
			if err != nil {
				t.Fatal(err)
			}
			if !q.Match(subscriptions.NewDoc(tc.a.Title, tc.a.URL, articles.MatchText(&tc.a))) {
				t.Errorf("MatchText(%+v) = %q does not match", tc.a, articles.MatchText(&tc.a))
			}
		})
	}
}

func TestMatcherGroup(t *testing.T) {
	// Today's group name is kept for the single partition: an upgrade
	// must find the articles pending where the old matchers left them.
	for _, n := range []int{0, 1} {
		if g := articles.MatcherGroup(0, n); g != "matcher" {
			t.Errorf("MatcherGroup(0, %d) = %q, want matcher", n, g)
		}
	}
	seen := map[string]bool{}
	for n := 1; n <= 8; n++ {
		for k := range n {
			g := articles.MatcherGroup(k, n)
			if seen[g] {
				t.Errorf("MatcherGroup(%d, %d) = %q, a name already given to another partition", k, n, g)
			}
			seen[g] = true
			if gk, gn, ok := articles.MatcherPartition(g); !ok || gk != k || gn != n {
				t.Errorf("MatcherPartition(%q) = %d, %d, %v; want %d, %d, true", g, gk, gn, ok, k, n)
			}
		}
	}
	for _, g := range []string{"telegram", "matcher:", "matcher:1", "matcher:2/2", "matcher:-1/2", "matcher:01/2", "matcher:0/1", "matcher:1/2x", "matchers"} {
		if k, n, ok := articles.MatcherPartition(g); ok {
			t.Errorf("MatcherPartition(%q) = %d, %d, true; want not a matcher group", g, k, n)
		}
	}
}
