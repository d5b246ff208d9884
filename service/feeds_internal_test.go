package service

import (
	"context"
	"errors"
	"testing"

	"github.com/herald-news/herald/bot"
	"github.com/herald-news/herald/fetch"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/watcher"
)

// The bot's admin commands reach a real watcher through botFeeds: what
// they add is listed, and removing a feed nobody watches is bot.ErrNoFeed,
// the answer the bot branches on.
func TestBotFeeds(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	f := botFeeds{watcher.New(st, fetch.New(fetch.Options{}), 0, nil)}
	added, err := f.Add(ctx, "https://news.example/feed.xml", 0, 0)
	if err != nil || added.URL != "https://news.example/feed.xml" || !added.LastFetch.IsZero() {
		t.Fatalf("Add = %+v, %v", added, err)
	}
	list, err := f.List(ctx)
	if err != nil || len(list) != 1 || list[0].URL != added.URL {
		t.Fatalf("List = %v, %v; want the added feed", list, err)
	}
	if err := f.Remove(ctx, "https://other.example/feed.xml"); !errors.Is(err, bot.ErrNoFeed) {
		t.Errorf("removing an unwatched feed: %v, want bot.ErrNoFeed", err)
	}
	if err := f.Remove(ctx, added.URL); err != nil {
		t.Fatal(err)
	}
	if list, err := f.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("List after Remove = %v, %v", list, err)
	}
}
