package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/herald-news/herald/subscriptions"
)

func (c *call) admin(ctx context.Context) bool {
	if !c.b.isAdmin(c.from) {
		c.reply(ctx, "That command is for Herald's admins.")
		return false
	}
	if c.b.Feeds == nil {
		c.reply(ctx, "Feeds are not managed from this process.")
		return false
	}
	return true
}

func (c *call) feeds(ctx context.Context) {
	if !c.admin(ctx) {
		return
	}
	fs, err := c.b.Feeds.List(ctx)
	if err != nil {
		c.fail(ctx, err)
		return
	}
	if len(fs) == 0 {
		c.reply(ctx, "No feeds yet. Add one with <code>/addfeed URL</code>.")
		return
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "<b>%d feeds</b>\n", len(fs))
	now := c.b.Now()
	for i, f := range fs {
		state := "never fetched"
		if !f.LastFetch.IsZero() {
			state = "fetched " + now.Sub(f.LastFetch).Round(time.Second).String() + " ago"
		}
		if f.Errors > 0 {
			state += fmt.Sprintf(", %d errors", f.Errors)
		}
		line := fmt.Sprintf("%d. %s (%s) — %s, %d articles\n", i+1, esc(clip(f.URL, 200)), esc(cmp.Or(f.Kind, "feed")), state, f.Articles)
		if textLen(sb.String())+textLen(line) > MaxMessage-100 {
			fmt.Fprintf(&sb, "… and %d more", len(fs)-i)
			break
		}
		sb.WriteString(line)
	}
	c.reply(ctx, sb.String())
}

func (c *call) addFeed(ctx context.Context) {
	if !c.admin(ctx) {
		return
	}
	if c.arg == "" {
		c.reply(ctx, "Give the feed's URL: <code>/addfeed https://example.org/feed.xml</code>.")
		return
	}
	f, err := c.b.Feeds.Add(ctx, c.arg, 0, 0)
	if err != nil {
		c.reply(ctx, "Can't add that feed: "+esc(clip(err.Error(), 300)))
		return
	}
	found := ""
	if f.From != "" {
		found = ", found on " + esc(clip(f.From, 200))
	}
	c.reply(ctx, "Watching "+esc(f.URL)+" ("+esc(cmp.Or(f.Kind, "feed"))+found+").")
}

func (c *call) removeFeed(ctx context.Context) {
	if !c.admin(ctx) {
		return
	}
	err := c.b.Feeds.Remove(ctx, c.arg)
	switch {
	case errors.Is(err, ErrNoFeed):
		c.reply(ctx, "That feed is not watched; see /feeds.")
	case err != nil:
		c.fail(ctx, err)
	default:
		c.reply(ctx, "Stopped watching "+esc(clip(c.arg, 300))+".")
	}
}

func (c *call) stats(ctx context.Context) {
	if !c.b.isAdmin(c.from) {
		c.reply(ctx, "That command is for Herald's admins.")
		return
	}
	counts := map[string]int{}
	topics := 0
	err := c.b.subs.Scan(ctx, func(s *subscriptions.Subscriber) error {
		counts[s.Kind+" "+s.Status]++
		topics += len(s.Topics)
		return nil
	})
	if err != nil {
		c.fail(ctx, err)
		return
	}
	var sb strings.Builder
	sb.WriteString("<b>Herald</b>\n")
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&sb, "%s: %d\n", esc(k), counts[k])
	}
	fmt.Fprintf(&sb, "topics: %d\n", topics)
	q := queueStats(ctx, c.b)
	sb.WriteString(q)
	if c.b.Feeds != nil {
		if fs, err := c.b.Feeds.List(ctx); err == nil {
			fmt.Fprintf(&sb, "feeds: %d\n", len(fs))
		}
	}
	c.reply(ctx, sb.String())
}

func queueStats(ctx context.Context, b *Bot) string {
	s := &Sender{st: b.st, Consumer: "stats", log: b.log}
	st, err := s.Stream().Stats(ctx)
	if err != nil {
		return ""
	}
	held, _ := b.st.Redis.ZCard(ctx, DueKey(b.st)).Result()
	return fmt.Sprintf("alert queue: %d entries, %d in hand, oldest %s\nchats with held alerts: %d\n",
		st.Length, st.Pending, st.OldestPending.Round(time.Second), held)
}
