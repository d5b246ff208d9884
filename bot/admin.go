package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/subscriptions"
)

func (c *call) admin(ctx context.Context) bool {
	if !c.b.isAdmin(c.from) {
		c.reply(ctx, c.p.T("bot.admin.only"))
		return false
	}
	if c.b.Feeds == nil {
		c.reply(ctx, c.p.T("bot.admin.no_feeds"))
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
		c.reply(ctx, c.p.T("bot.feeds.empty"))
		return
	}
	var sb strings.Builder
	sb.WriteString(c.p.N("bot.feeds.head", len(fs)) + "\n")
	now := c.b.Now()
	for i, f := range fs {
		state := c.p.T("bot.feeds.never")
		if !f.LastFetch.IsZero() {
			state = c.p.T("bot.feeds.fetched", "Ago", ago(c.p, now.Sub(f.LastFetch)))
		}
		if f.Errors > 0 {
			state += ", " + c.p.N("bot.feeds.errors", f.Errors)
		}
		line := fmt.Sprintf("%d. %s (%s) — %s, %s\n", i+1, esc(clip(f.URL, 200)), esc(cmp.Or(f.Kind, "feed")), state, c.p.N("articles", int(f.Articles)))
		if textLen(sb.String())+textLen(line) > MaxMessage-100 {
			sb.WriteString(c.p.N("bot.list.more", len(fs)-i))
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
		c.reply(ctx, c.p.T("bot.addfeed.empty"))
		return
	}
	f, err := c.b.Feeds.Add(ctx, c.arg, 0, 0)
	if err != nil {
		c.reply(ctx, c.p.T("bot.addfeed.failed", "Error", esc(clip(err.Error(), 300))))
		return
	}
	if f.From != "" {
		c.reply(ctx, c.p.T("bot.addfeed.found", "URL", esc(f.URL), "Kind", esc(cmp.Or(f.Kind, "feed")), "From", esc(clip(f.From, 200))))
		return
	}
	c.reply(ctx, c.p.T("bot.addfeed.ok", "URL", esc(f.URL), "Kind", esc(cmp.Or(f.Kind, "feed"))))
}

func (c *call) removeFeed(ctx context.Context) {
	if !c.admin(ctx) {
		return
	}
	err := c.b.Feeds.Remove(ctx, c.arg)
	switch {
	case errors.Is(err, ErrNoFeed):
		c.reply(ctx, c.p.T("bot.removefeed.unknown"))
	case err != nil:
		c.fail(ctx, err)
	default:
		c.reply(ctx, c.p.T("bot.removefeed.ok", "URL", esc(clip(c.arg, 300))))
	}
}

func (c *call) stats(ctx context.Context) {
	if !c.b.isAdmin(c.from) {
		c.reply(ctx, c.p.T("bot.admin.only"))
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
	sb.WriteString(c.p.T("bot.stats.topics", "N", topics) + "\n")
	sb.WriteString(queueStats(ctx, c.b, c.p))
	if c.b.Feeds != nil {
		if fs, err := c.b.Feeds.List(ctx); err == nil {
			sb.WriteString(c.p.T("bot.stats.feeds", "N", len(fs)) + "\n")
		}
	}
	c.reply(ctx, sb.String())
}

func queueStats(ctx context.Context, b *Bot, p locale.P) string {
	s := &Sender{st: b.st, Consumer: "stats", log: b.log}
	st, err := s.Stream().Stats(ctx)
	if err != nil {
		return ""
	}
	held, _ := HeldChats(ctx, b.st)
	return p.T("bot.stats.queue", "Length", st.Length, "Pending", st.Pending, "Oldest", ago(p, st.OldestPending)) + "\n" +
		p.T("bot.stats.held", "N", held) + "\n"
}

// ago writes a span of time the way people round it: "3 minutes",
// "5 hours", "2 days".
func ago(p locale.P, d time.Duration) string {
	switch {
	case d < time.Minute:
		return p.N("bot.span.seconds", int(d/time.Second))
	case d < time.Hour:
		return p.N("bot.span.minutes", int(d/time.Minute))
	case d < 48*time.Hour:
		return p.N("bot.span.hours", int(d/time.Hour))
	}
	return p.N("bot.span.days", int(d/(24*time.Hour)))
}
