package delivery

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

func TestFeedKeepsTheLatestMatchesOncePerStory(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	for i := range FeedSize + 5 {
		story := fmt.Sprintf("s%d", i)
		art := fmt.Sprintf("a%d", i)
		if _, _, err := EnqueueBatch(ctx, st, story, []Alert{alert("tg:1", 1, art)}, []Digest{digest("em:1", art)}); err != nil {
			t.Fatal(err)
		}
	}
	// A matcher re-reading the last article after a crash: the alert is
	// not queued again, and the feed shows the story once.
	if n, _, err := EnqueueBatch(ctx, st, fmt.Sprintf("s%d", FeedSize+4), []Alert{alert("tg:1", 1, fmt.Sprintf("a%d", FeedSize+4))}, nil); err != nil || n != 0 {
		t.Fatalf("repeat queued %d alerts, err %v", n, err)
	}
	for _, sub := range []string{"tg:1", "em:1"} {
		got, err := Feed(ctx, st, sub)
		if err != nil {
			t.Fatal(err)
		}
		want := FeedSize
		if sub == "tg:1" {
			want-- // the repeat took a place in the capped list
		}
		if len(got) != want {
			t.Fatalf("%s: %d entries, want %d", sub, len(got), want)
		}
		if got[0].Article != fmt.Sprintf("a%d", FeedSize+4) || got[0].Topic != "belarus" || got[0].At.IsZero() {
			t.Errorf("%s: newest entry %+v", sub, got[0])
		}
		if last := got[len(got)-1].Article; last != fmt.Sprintf("a%d", FeedSize+5-want) {
			t.Errorf("%s: oldest entry %s", sub, last)
		}
	}
}

func TestFeedSecretIsMadeOnceAndRotates(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	subs := subscriptions.NewStore(st)
	if _, err := FeedSecret(ctx, subs, "tg:404"); !errors.Is(err, subscriptions.ErrNotFound) {
		t.Fatalf("secret of a missing subscriber: %v", err)
	}
	if n, _ := st.Redis.Exists(ctx, subscriptions.Key(st, "tg:404")).Result(); n != 0 {
		t.Fatal("asking for a missing subscriber's secret created its hash")
	}
	if err := subs.Put(ctx, &subscriptions.Subscriber{ID: "tg:1", Kind: subscriptions.KindTelegram, ChatID: 1, Status: subscriptions.StatusActive, Topics: []string{"belarus"}}); err != nil {
		t.Fatal(err)
	}
	s1, err := FeedSecret(ctx, subs, "tg:1")
	if err != nil || len(s1) < 24 {
		t.Fatalf("secret %q, %v", s1, err)
	}
	if s2, _ := FeedSecret(ctx, subs, "tg:1"); s2 != s1 {
		t.Fatalf("second call made a new secret")
	}
	sub, _ := subs.Get(ctx, "tg:1")
	if !FeedSecretOK(sub, s1) || FeedSecretOK(sub, s1[:len(s1)-1]) || FeedSecretOK(sub, "") {
		t.Fatal("FeedSecretOK does not check the secret")
	}
	r, err := RotateFeedSecret(ctx, subs, "tg:1")
	if err != nil || r == s1 {
		t.Fatalf("rotated to %q, %v", r, err)
	}
	sub, _ = subs.Get(ctx, "tg:1")
	if FeedSecretOK(sub, s1) || !FeedSecretOK(sub, r) {
		t.Fatal("the old secret still opens the feed after rotation")
	}
	if _, _, err := EnqueueBatch(ctx, st, "s", []Alert{alert("tg:1", 1, "a")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := subs.Delete(ctx, "tg:1"); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Redis.Exists(ctx, FeedKey(st, "tg:1")).Result(); n != 0 {
		t.Fatal("deleting the subscriber left its feed")
	}
}

// A chat's feed list, pushed to without a script, stays between
// ArchiveSize and ArchiveSize+feedSlack entries however many alerts come,
// newest first; a reader's, trimmed by its script, at ArchiveSize.
func TestFeedListsStayCapped(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	const n = ArchiveSize + 3*feedSlack + 7
	for i := range n {
		art := fmt.Sprintf("a%d", i)
		if _, _, err := EnqueueBatch(ctx, st, fmt.Sprintf("s%d", i), []Alert{alert("tg:1", 1, art)}, []Digest{digest("em:1", art)}); err != nil {
			t.Fatal(err)
		}
		if l, err := st.Redis.LLen(ctx, FeedKey(st, "tg:1")).Result(); err != nil || l > ArchiveSize+feedSlack {
			t.Fatalf("after %d alerts the chat's feed list holds %d (err %v), want at most %d", i+1, l, err, ArchiveSize+feedSlack)
		}
	}
	if l, _ := st.Redis.LLen(ctx, FeedKey(st, "tg:1")).Result(); l < ArchiveSize {
		t.Fatalf("the chat's feed list holds %d, want at least %d", l, ArchiveSize)
	}
	if l, _ := st.Redis.LLen(ctx, FeedKey(st, "em:1")).Result(); l != ArchiveSize {
		t.Fatalf("the reader's feed list holds %d, want %d", l, ArchiveSize)
	}
	for _, sub := range []string{"tg:1", "em:1"} {
		got, err := Archive(ctx, st, sub, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != ArchiveSize || got[0].Article != fmt.Sprintf("a%d", n-1) || got[ArchiveSize-1].Article != fmt.Sprintf("a%d", n-ArchiveSize) {
			t.Fatalf("%s: archive of %d from %v, want the latest %d newest first", sub, len(got), got[0].Article, ArchiveSize)
		}
	}
}
