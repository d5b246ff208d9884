package summary

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/store/storetest"
)

func TestSummarizerCache(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	s := NewSummarizer(st, nil)
	a := seedArticle(t, "0123abcd")

	first, err := s.For(ctx, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := Summarize(a.Text, Options{Title: a.Title}); first != want {
		t.Fatalf("For = %q\nwant %q", first, want)
	}
	key := st.Key("summary", a.ID)
	h, err := st.Redis.HGetAll(ctx, key).Result()
	if err != nil || h["text"] != first || h["by"] != "extractive" {
		t.Fatalf("cached %v, %v", h, err)
	}
	if ttl := st.Redis.TTL(ctx, key).Val(); ttl < 7*24*time.Hour || ttl > DefaultTTL {
		t.Errorf("TTL %v", ttl)
	}

	// Served from the cache: a changed text does not change the summary.
	changed := *a
	changed.Text = "Something else entirely happened somewhere else today."
	if got, _ := s.For(ctx, &changed, nil); got != first {
		t.Errorf("not served from the cache: %q", got)
	}

	// A topic the summary already shows needs no key of its own.
	if got, _ := s.For(ctx, a, []string{"Tehran"}); got != first {
		t.Errorf("topic Tehran changed the summary: %q", got)
	}
	if n := len(st.Redis.Keys(ctx, st.Key("summary", a.ID, "*")).Val()); n != 0 {
		t.Errorf("%d topic keys after a topic already shown", n)
	}

	// A topic outside the summary gets its own summary, cached.
	withTopic, _ := s.For(ctx, a, []string{"Haniyeh"})
	if !strings.Contains(withTopic, "Haniyeh") {
		t.Errorf("topic summary lacks Haniyeh: %q", withTopic)
	}
	tkey := st.Key("summary", a.ID, topicHash([]string{"Haniyeh"}))
	if got := st.Redis.Get(ctx, tkey).Val(); got != withTopic {
		t.Errorf("topic key %s = %q", tkey, got)
	}
	if ttl := st.Redis.TTL(ctx, tkey).Val(); ttl <= 0 {
		t.Errorf("topic key TTL %v", ttl)
	}
	if topicHash([]string{"haniyeh "}) != topicHash([]string{"Haniyeh"}) {
		t.Error("topic hash should not depend on case or spacing")
	}
}
