package watcher

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/fetch"
	"github.com/herald-news/herald/store/storetest"
)

// A story's first article saved again (a retry after a crash, or another
// watcher that brought the same page) keeps the sources its copies listed
// on it meanwhile.
func TestSaveArticleKeepsTheSourcesOfItsCopies(t *testing.T) {
	st := storetest.New(t)
	w := New(st, fetch.New(fetch.Options{}), time.Minute, nil)
	ctx := context.Background()
	fresh := func() *article.Article {
		return &article.Article{ID: "head", URL: "https://first.example/harbour", Title: "Harbour plan", Source: "First Wire"}
	}
	if err := articles.Save(ctx, w.st, fresh()); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Second Daily", "first wire", "Third Post", "second daily"} {
		if err := articles.AddSource(ctx, w.st, "head", s); err != nil {
			t.Fatal(err)
		}
	}
	again := fresh()
	again.Title = "Harbour plan reviewed"
	if err := articles.Save(ctx, w.st, again); err != nil {
		t.Fatal(err)
	}
	got, err := articles.Load(ctx, st, "head")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Second Daily", "Third Post"}; got.Title != again.Title || !slices.Equal(got.Sources, want) {
		t.Fatalf("saved again: title %q, sources %q; want %q, %q", got.Title, got.Sources, again.Title, want)
	}
	if ttl := st.Redis.PTTL(ctx, articles.Key(st, "head")).Val(); ttl <= 0 || ttl > articles.TTL {
		t.Fatalf("article TTL %v, want up to %v", ttl, articles.TTL)
	}
}
