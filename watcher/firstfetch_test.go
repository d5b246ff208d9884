package watcher_test

import (
	"context"
	"testing"
	"time"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/store/storetest"
)

// A new feed's first items are kept for previews: saved, seen and in the
// recent window at their publication time, but not on the stream. Items
// older than the window are not kept, an undated one counts as seen now,
// and an item another feed published already keeps its own record.
func TestWatcherFirstFetchKeepsItemsForPreviews(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	w := newWatcher(t, st, time.Minute)
	w.Complete = nil
	now := time.Now().UTC().Truncate(time.Second)

	// Another feed publishes the shared story first.
	other := newSite(t, "Other Wire")
	shared := other.URL + "/news/shared"
	first := addAndPoll(t, w, other.URL+"/feed.xml", 0)
	other.set(func(s *site) {
		s.items = []item{{Title: "Shared story", Link: shared, GUID: shared, Date: now.Add(-30 * time.Minute).Format(time.RFC1123Z), Desc: longText("shared")}}
	})
	if err := w.Poll(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if got := streamed(t, st); len(got) != 1 {
		t.Fatalf("the other feed published %d, want 1", len(got))
	}

	s := newSite(t, "Wire")
	s.set(func(s *site) {
		s.items = []item{
			{Title: "Undated story", Link: s.URL + "/news/undated", GUID: s.URL + "/news/undated", Desc: longText("undated")},
			{Title: "Recent story", Link: s.URL + "/news/recent", GUID: s.URL + "/news/recent", Date: now.Add(-time.Hour).Format(time.RFC1123Z), Desc: longText("recent")},
			{Title: "Shared story again", Link: shared, GUID: shared, Date: now.Add(-40 * time.Minute).Format(time.RFC1123Z), Desc: longText("again")},
			{Title: "Ancient story", Link: s.URL + "/news/ancient", GUID: s.URL + "/news/ancient", Date: now.Add(-30 * 24 * time.Hour).Format(time.RFC1123Z), Desc: longText("ancient")},
		}
	})
	addAndPoll(t, w, s.URL+"/feed.xml", 0)
	if got := streamed(t, st); len(got) != 1 {
		t.Fatalf("stream holds %d articles after a new feed's first poll, want the other feed's 1", len(got))
	}
	id := func(u string) string { c, _ := article.Canonical(u); return article.IDFor(c) }
	score := func(u string) (float64, bool) {
		sc, err := st.Redis.ZScore(ctx, articles.RecentKey(st), id(u)).Result()
		return sc, err == nil
	}
	if sc, ok := score(s.URL + "/news/recent"); !ok || int64(sc) != now.Add(-time.Hour).UnixMilli() {
		t.Errorf("recent story: in the window %v at %v, want at its publication time", ok, sc)
	}
	if sc, ok := score(s.URL + "/news/undated"); !ok || int64(sc) < now.UnixMilli() {
		t.Errorf("undated story: in the window %v at %v, want at the poll", ok, sc)
	}
	if _, ok := score(s.URL + "/news/ancient"); ok {
		t.Error("a story older than the window was kept in it")
	}
	if a := load(t, st, id(s.URL+"/news/recent")); a.FeedURL != s.URL+"/feed.xml" || a.Source != "Wire" || a.Lang != "en" || a.StoryID != a.ID {
		t.Errorf("kept article = feed %q source %q lang %q story %q", a.FeedURL, a.Source, a.Lang, a.StoryID)
	}
	if a := load(t, st, id(shared)); a.Title != "Shared story" {
		t.Errorf("the shared story's record was replaced: title %q", a.Title)
	}
	recent, err := articles.Recent(ctx, st, 10)
	if err != nil || len(recent) != 3 || recent[0].Title != "Undated story" || recent[1].Title != "Shared story" || recent[2].Title != "Recent story" {
		var titles []string
		for _, a := range recent {
			titles = append(titles, a.Title)
		}
		t.Fatalf("recent = %q (%v), want undated, shared, recent", titles, err)
	}

	// Seen: the next poll announces none of them.
	s.set(func(s *site) {
		s.items = append([]item{{Title: "Fresh story", Link: s.URL + "/news/fresh", GUID: s.URL + "/news/fresh", Date: now.Format(time.RFC1123Z), Desc: longText("fresh")}}, s.items...)
	})
	f, err := w.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range f {
		if fd.URL == s.URL+"/feed.xml" {
			if err := w.Poll(ctx, fd.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := streamed(t, st)
	if len(got) != 2 || got[1].Title != "Fresh story" {
		t.Fatalf("after the second poll the stream holds %d (%v), want the fresh story added", len(got), got)
	}
}
