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
	"github.com/herald-news/herald/subscriptions"
)

func (c *call) subscribe(ctx context.Context) {
	if !c.resolve(ctx, true) {
		return
	}
	if c.arg == "" {
		c.reply(ctx, "Give a topic after the command, e.g. <code>/sub belarus</code>.")
		return
	}
	c.follow(ctx, c.arg, func(html string) { c.reply(ctx, html) })
}

// follow adds a query to the target's topics and says how it went.
func (c *call) follow(ctx context.Context, query string, say func(html string)) {
	q, err := subscriptions.Parse(query)
	if err != nil {
		say("That topic can't be used: " + esc(err.Error()))
		return
	}
	if _, err := c.b.ensure(ctx, c.target); err != nil {
		c.fail(ctx, err)
		return
	}
	topic := q.String()
	_, err = c.b.subs.AddTopic(ctx, subscriptions.TelegramID(c.target), topic)
	switch {
	case errors.Is(err, subscriptions.ErrDuplicate):
		say("Already following " + echo(query, topic) + c.whose() + ".")
	case errors.Is(err, subscriptions.ErrTooMany):
		say("That is as many topics as allowed; /unsubscribe one first.")
	case err != nil:
		c.fail(ctx, err)
	default:
		say("Following " + echo(query, topic) + c.whose() + ". New articles that match will arrive as they are published.")
	}
}

// offer answers plain text in a private chat with "Subscribe to …?".
func (c *call) offer(ctx context.Context, text string) {
	text = strings.TrimSpace(text)
	q, err := subscriptions.Parse(text)
	if err != nil {
		c.reply(ctx, "To follow a topic, send a query such as <code>belarus OR minsk</code>. That one can't be used: "+esc(err.Error()))
		return
	}
	topic := q.String()
	h := topicHash(topic)
	if err := c.b.st.Redis.Set(ctx, OfferKey(c.b.st, c.chat, h), topic, 24*time.Hour).Err(); err != nil {
		c.fail(ctx, err)
		return
	}
	c.replyKB(ctx, "Subscribe to "+echo(text, topic)+"?",
		[]models.InlineKeyboardButton{button("✅ Subscribe", data("sub", c.target, h)), button("No, thanks", data("no", c.target, ""))})
}

// listView is the text and keyboard of /list.
func listView(s *subscriptions.Subscriber, target int64, label string) (string, [][]models.InlineKeyboardButton) {
	if s == nil || len(s.Topics) == 0 {
		return "No topics followed" + forLabel(label) + " yet. Try <code>/sub belarus</code>.", nil
	}
	var sb strings.Builder
	sb.WriteString("<b>Topics" + forLabel(label) + "</b>\n")
	var rows [][]models.InlineKeyboardButton
	for i, t := range s.Topics {
		muted := slices.Contains(s.Muted, t)
		mark, act := "", "🔕 Mute"
		if muted {
			mark, act = " (muted)", "🔔 Unmute"
		}
		line := fmt.Sprintf("%d. <code>%s</code>%s\n", i+1, esc(t), mark)
		if textLen(sb.String())+textLen(line) > MaxMessage-200 {
			fmt.Fprintf(&sb, "… and %d more\n", len(s.Topics)-i)
			break
		}
		sb.WriteString(line)
		if len(rows) < 49 {
			n := strconv.Itoa(i + 1)
			rows = append(rows, []models.InlineKeyboardButton{
				button(act+" "+n, data("lm", target, topicHash(t))),
				button("🗑 Remove "+n, data("lr", target, topicHash(t))),
			})
		}
	}
	switch {
	case !s.PausedUntil.IsZero() && time.Now().Before(s.PausedUntil):
		sb.WriteString("\nPaused until " + s.PausedUntil.In(location(s)).Format("2 Jan 15:04 MST") + ".")
	case s.Status == subscriptions.StatusPaused:
		sb.WriteString("\nPaused until /resume.")
	}
	if s.Frequency == ModeHourly || s.Frequency == ModeDaily {
		sb.WriteString("\nAlerts come " + s.Frequency + ".")
	}
	if s.Quiet != "" {
		sb.WriteString("\nQuiet hours " + esc(s.Quiet) + " (" + esc(location(s).String()) + ").")
	}
	return sb.String(), rows
}

func forLabel(label string) string {
	if label == "" {
		return ""
	}
	return " for " + esc(label)
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
	text, rows := listView(s, c.target, c.label)
	c.replyKB(ctx, text, rows...)
}

func (c *call) unsubscribe(ctx context.Context) {
	if !c.resolve(ctx, true) {
		return
	}
	arg := strings.TrimSpace(c.arg)
	id := subscriptions.TelegramID(c.target)
	if arg == "" {
		c.reply(ctx, "Say which topic: <code>/unsubscribe 2</code> (its number in /list), <code>/unsubscribe belarus</code>, or <code>/unsubscribe all</code>.")
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
		c.reply(ctx, "Stopped every topic"+c.whose()+".")
		return
	}
	if n, err := strconv.Atoi(arg); err == nil {
		topic, err := c.b.subs.RemoveTopic(ctx, id, n)
		switch {
		case errors.Is(err, subscriptions.ErrNoSuchTopic), errors.Is(err, subscriptions.ErrNotFound):
			c.reply(ctx, "There is no topic number "+strconv.Itoa(n)+"; see /list.")
		case err != nil:
			c.fail(ctx, err)
		default:
			c.unmute(ctx, topic)
			c.reply(ctx, "Stopped <code>"+esc(topic)+"</code>.")
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
		c.reply(ctx, "You don't follow <code>"+esc(clip(arg, 256))+"</code>; see /list.")
	case err != nil:
		c.fail(ctx, err)
	default:
		c.reply(ctx, "Stopped <code>"+esc(removed)+"</code>.")
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
		c.reply(ctx, "Give a query to try, e.g. <code>/preview belarus OR minsk</code>.")
		return
	}
	q, err := subscriptions.Parse(c.arg)
	if err != nil {
		c.reply(ctx, "That topic can't be used: "+esc(err.Error()))
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
			if src := sourceName(a); src != "" {
				line += " <i>" + esc(clip(src, 40)) + "</i>"
			}
			hits = append(hits, line)
		}
	}
	topic := q.String()
	h := topicHash(topic)
	_ = c.b.st.Redis.Set(ctx, OfferKey(c.b.st, c.chat, h), topic, 24*time.Hour).Err()
	follow := []models.InlineKeyboardButton{button("✅ Follow this topic", data("sub", c.target, h))}
	if total == 0 {
		c.replyKB(ctx, fmt.Sprintf("None of the last %d articles match <code>%s</code>.", len(recent), esc(topic)), follow)
		return
	}
	text := fmt.Sprintf("<b>%d of the last %d articles match</b> <code>%s</code>:\n\n%s", total, len(recent), esc(topic), strings.Join(hits, "\n"))
	c.replyKB(ctx, text, follow)
}

// OfferKey holds a query offered with a "Subscribe" button until pressed.
func OfferKey(st interface{ Key(...string) string }, chat int64, hash string) string {
	return st.Key("{tg}", "offer", strconv.FormatInt(chat, 10), hash)
}

// setMute mutes or unmutes the topic with this hash.
func (b *Bot) setMute(ctx context.Context, id, hash string, mute bool) (*subscriptions.Subscriber, error) {
	return b.subs.Update(ctx, id, func(s *subscriptions.Subscriber) error {
		i := slices.IndexFunc(s.Topics, func(t string) bool { return topicHash(t) == hash })
		if i < 0 {
			return subscriptions.ErrNoSuchTopic
		}
		t := s.Topics[i]
		s.Muted = slices.DeleteFunc(s.Muted, func(m string) bool { return m == t })
		if mute {
			s.Muted = append(s.Muted, t)
		}
		return nil
	})
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
