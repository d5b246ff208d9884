package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/herald-news/herald/bot"
	"github.com/herald-news/herald/watcher"
)

// botFeeds is the watcher as the bot's admin commands see it: bot declares
// what it needs (bot.Feeds) and does not import the watcher.
type botFeeds struct{ w *watcher.Watcher }

var _ bot.Feeds = botFeeds{}

func (f botFeeds) Add(ctx context.Context, rawURL string, interval time.Duration, backfill int) (*bot.Feed, error) {
	fd, err := f.w.Add(ctx, rawURL, interval, backfill)
	if err != nil {
		return nil, err
	}
	return botFeed(fd), nil
}

func (f botFeeds) Remove(ctx context.Context, rawURL string) error {
	err := f.w.Remove(ctx, rawURL)
	if errors.Is(err, watcher.ErrNoFeed) {
		return fmt.Errorf("remove %s: %w", rawURL, bot.ErrNoFeed)
	}
	return err
}

func (f botFeeds) List(ctx context.Context) ([]*bot.Feed, error) {
	fs, err := f.w.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*bot.Feed, len(fs))
	for i, fd := range fs {
		out[i] = botFeed(fd)
	}
	return out, nil
}

func botFeed(fd *watcher.Feed) *bot.Feed {
	return &bot.Feed{URL: fd.URL, Kind: fd.Kind, From: fd.From, LastFetch: fd.LastFetch, Errors: fd.Errors, Articles: fd.Articles}
}
