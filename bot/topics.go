package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/subscriptions"
)

func (c *call) subscribe(ctx context.Context) {
	if !c.resolve(ctx, true) {
		return
	}
	if c.arg == "" {
		c.reply(ctx, c.p.T("bot.sub.empty"))
		return
	}
	c.follow(ctx, c.arg, func(html string) { c.reply(ctx, html) })
}

// follow adds a query to the target's topics and says how it went.
func (c *call) follow(ctx context.Context, query string, say func(html string)) {
	q, err := subscriptions.Parse(query)
	if err != nil {
		say(c.p.T("bot.query.bad", "Error", esc(subscriptions.ErrorIn(err, c.p.Lang()))))
		return
	}
	if _, err := c.ensure(ctx); err != nil {
		c.fail(ctx, err)
		return
	}
	topic := q.String()
	_, err = c.b.subs.AddTopic(ctx, subscriptions.TelegramID(c.target), topic)
	switch {
	case errors.Is(err, subscriptions.ErrDuplicate):
		say(c.p.T("bot.sub.already", "Topic", echo(c.p, query, topic), "For", c.whose()))
	case errors.Is(err, subscriptions.ErrTooMany):
		say(c.p.T("bot.sub.too_many"))
	case err != nil:
		c.fail(ctx, err)
	default:
		say(c.p.T("bot.sub.ok", "Topic", echo(c.p, query, topic), "For", c.whose()))
	}
}

// offer answers plain text in a private chat with "Subscribe to …?".
func (c *call) offer(ctx context.Context, text string) {
	text = strings.TrimSpace(text)
	q, err := subscriptions.Parse(text)
	if err != nil {
		c.reply(ctx, c.p.T("bot.offer.bad", "Error", esc(subscriptions.ErrorIn(err, c.p.Lang()))))
		return
	}
	topic := q.String()
	h := topicHash(topic)
	if err := c.b.st.Redis.Set(ctx, OfferKey(c.b.st, c.chat, h), topic, 24*time.Hour).Err(); err != nil {
		c.fail(ctx, err)
		return
	}
	c.replyKB(ctx, c.p.T("bot.offer.ask", "Topic", echo(c.p, text, topic)),
		[]models.InlineKeyboardButton{button(c.p.T("bot.offer.yes"), data("sub", c.target, h)), button(c.p.T("bot.offer.no"), data("no", c.target, ""))})
}

// listView is the text and keyboard of /list.
func listView(p locale.P, s *subscriptions.Subscriber, target int64, label string) (string, [][]models.InlineKeyboardButton) {
	if s == nil || len(s.Topics) == 0 {
		return p.T("bot.list.empty", "For", forLabel(p, label)), nil
	}
	var sb strings.Builder
	sb.WriteString(p.T("bot.list.head", "For", forLabel(p, label)) + "\n")
	var rows [][]models.InlineKeyboardButton
	for i, t := range s.Topics {
		muted := slices.Contains(s.Muted, t)
		mark, act := "", "bot.list.mute"
		if muted {
			mark, act = " "+p.T("bot.list.muted"), "bot.list.unmute"
		}
		line := fmt.Sprintf("%d. <code>%s</code>%s\n", i+1, esc(t), mark)
		if textLen(sb.String())+textLen(line) > MaxMessage-200 {
			sb.WriteString(p.N("bot.list.more", len(s.Topics)-i) + "\n")
			break
		}
		sb.WriteString(line)
		if len(rows) < 49 {
			n := strconv.Itoa(i + 1)
			rows = append(rows, []models.InlineKeyboardButton{
				button(p.T(act, "N", n), data("lm", target, topicHash(t))),
				button(p.T("bot.list.remove", "N", n), data("lr", target, topicHash(t))),
			})
		}
	}
	switch {
	case !s.PausedUntil.IsZero() && time.Now().Before(s.PausedUntil):
		sb.WriteString("\n" + p.T("bot.list.paused_until", "When", esc(dayTime(p, s.PausedUntil, location(s)))))
	case s.Status == subscriptions.StatusPaused:
		sb.WriteString("\n" + p.T("bot.list.paused"))
	}
	if s.Frequency == ModeHourly || s.Frequency == ModeDaily {
		sb.WriteString("\n" + p.T("bot.list.mode", "Mode", modeName(p, s.Frequency)))
	}
	if s.Quiet != "" {
		sb.WriteString("\n" + p.T("bot.list.quiet", "Quiet", esc(s.Quiet), "Zone", esc(location(s).String())))
	}
	return sb.String(), rows
}

func forLabel(p locale.P, label string) string {
	if label == "" {
		return ""
	}
	return p.T("bot.for", "Label", esc(label))
}

func (c *call) list(ctx context.Context) {
	if !c.resolve(ctx, false) {
		return
	}
	s, err := c.b.subs.Get(ctx, subscriptions.TelegramID(c.target))
	if err != nil && !errors.Is(err, subscriptions.ErrNotFound) {
		c.fail(ctx, err)
		return
	}
	text, rows := listView(c.p, s, c.target, c.label)
	c.replyKB(ctx, text, rows...)
}

func (c *call) unsubscribe(ctx context.Context) {
	if !c.resolve(ctx, true) {
		return
	}
	arg := strings.TrimSpace(c.arg)
	id := subscriptions.TelegramID(c.target)
	if arg == "" {
		c.reply(ctx, c.p.T("bot.unsub.empty"))
		return
	}
	if strings.EqualFold(arg, "all") {
		_, err := c.b.subs.Update(ctx, id, func(s *subscriptions.Subscriber) error {
			s.Topics, s.Muted = nil, nil
			return nil
		})
		if err != nil && !errors.Is(err, subscriptions.ErrNotFound) {
			c.fail(ctx, err)
			return
		}
		c.reply(ctx, c.p.T("bot.unsub.all", "For", c.whose()))
		return
	}
	if n, err := strconv.Atoi(arg); err == nil {
		topic, err := c.b.subs.RemoveTopic(ctx, id, n)
		switch {
		case errors.Is(err, subscriptions.ErrNoSuchTopic), errors.Is(err, subscriptions.ErrNotFound):
			c.reply(ctx, c.p.T("bot.unsub.no_number", "N", n))
		case err != nil:
			c.fail(ctx, err)
		default:
			c.unmute(ctx, topic)
			c.reply(ctx, c.p.T("bot.unsub.ok", "Topic", esc(topic)))
		}
		return
	}
	want := arg
	if q, err := subscriptions.Parse(arg); err == nil {
		want = q.String()
	}
	removed := ""
	_, err := c.b.subs.Update(ctx, id, func(s *subscriptions.Subscriber) error {
		for i, t := range s.Topics {
			if strings.EqualFold(t, want) || strings.EqualFold(t, arg) {
				removed = t
				s.Topics = slices.Delete(s.Topics, i, i+1)
				s.Muted = slices.DeleteFunc(s.Muted, func(m string) bool { return m == t })
				return nil
			}
		}
		return subscriptions.ErrNoSuchTopic
	})
	switch {
	case errors.Is(err, subscriptions.ErrNoSuchTopic), errors.Is(err, subscriptions.ErrNotFound):
		c.reply(ctx, c.p.T("bot.unsub.not_followed", "Topic", esc(clip(arg, 256))))
	case err != nil:
		c.fail(ctx, err)
	default:
		c.reply(ctx, c.p.T("bot.unsub.ok", "Topic", esc(removed)))
	}
}

// unmute forgets a removed topic's muted mark.
func (c *call) unmute(ctx context.Context, topic string) {
	_, _ = c.b.subs.Update(ctx, subscriptions.TelegramID(c.target), func(s *subscriptions.Subscriber) error {
		s.Muted = slices.DeleteFunc(s.Muted, func(m string) bool { return m == topic })
		return nil
	})
}

// PreviewWindow is how many recent articles /preview looks through.
const PreviewWindow = 2000

func (c *call) preview(ctx context.Context) {
	if c.arg == "" {
		c.reply(ctx, c.p.T("bot.preview.empty"))
		return
	}
	q, err := subscriptions.Parse(c.arg)
	if err != nil {
		c.reply(ctx, c.p.T("bot.query.bad", "Error", esc(subscriptions.ErrorIn(err, c.p.Lang()))))
		return
	}
	recent, err := articles.Recent(ctx, c.b.st, PreviewWindow)
	if err != nil {
		c.fail(ctx, err)
		return
	}
	var hits []string
	total := 0
	for _, a := range recent {
		if !q.Match(subscriptions.NewDocLang(a.Title, a.URL, articles.MatchText(a), a.Lang)) {
			continue
		}
		total++
		if len(hits) < 8 {
			title := clip(strings.TrimSpace(a.Title), 150)
			if title == "" {
				title = clip(a.URL, 150)
			}
			line := "• " + esc(title)
			if u := safeURL(a.URL); u != "" {
				line = "• <a href=\"" + esc(u) + "\">" + esc(title) + "</a>"
			}
			if src := a.SourceName(); src != "" {
				line += " <i>" + esc(clip(src, 40)) + "</i>"
			}
			hits = append(hits, line)
		}
	}
	topic := q.String()
	h := topicHash(topic)
	_ = c.b.st.Redis.Set(ctx, OfferKey(c.b.st, c.chat, h), topic, 24*time.Hour).Err()
	follow := []models.InlineKeyboardButton{button(c.p.T("bot.preview.follow"), data("sub", c.target, h))}
	if total == 0 {
		c.replyKB(ctx, c.p.N("bot.preview.none", len(recent), "Topic", esc(topic)), follow)
		return
	}
	text := c.p.N("bot.preview.head", len(recent), "Hits", total, "Topic", esc(topic)) + "\n\n" + strings.Join(hits, "\n")
	c.replyKB(ctx, text, follow)
}

// OfferKey holds a query offered with a "Subscribe" button until pressed.
func OfferKey(st interface{ Key(...string) string }, chat int64, hash string) string {
	return st.Key("{tg}", "offer", strconv.FormatInt(chat, 10), hash)
}

// setMute mutes or unmutes the topic with this hash, and returns it.
func (b *Bot) setMute(ctx context.Context, id, hash string, mute bool) (string, error) {
	var topic string
	_, err := b.subs.Update(ctx, id, func(s *subscriptions.Subscriber) error {
		i := slices.IndexFunc(s.Topics, func(t string) bool { return topicHash(t) == hash })
		if i < 0 {
			return subscriptions.ErrNoSuchTopic
		}
		topic = s.Topics[i]
		s.Muted = slices.DeleteFunc(s.Muted, func(m string) bool { return m == topic })
		if mute {
			s.Muted = append(s.Muted, topic)
		}
		return nil
	})
	return topic, err
}

// toggleMute mutes the topic with this hash, or unmutes it if muted.
func (b *Bot) toggleMute(ctx context.Context, id, hash string) (*subscriptions.Subscriber, error) {
	return b.subs.Update(ctx, id, func(s *subscriptions.Subscriber) error {
		i := slices.IndexFunc(s.Topics, func(t string) bool { return topicHash(t) == hash })
		if i < 0 {
			return subscriptions.ErrNoSuchTopic
		}
		t := s.Topics[i]
		if j := slices.Index(s.Muted, t); j >= 0 {
			s.Muted = slices.Delete(s.Muted, j, j+1)
		} else {
			s.Muted = append(s.Muted, t)
		}
		return nil
	})
}
