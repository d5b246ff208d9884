package bot

import (
	"context"
	"slices"
	"strconv"
	"strings"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/herald-news/herald/subscriptions"
)

// callback answers a button press.
func (b *Bot) callback(ctx context.Context, q *models.CallbackQuery) {
	answer := func(text string) {
		_, _ = b.api.AnswerCallbackQuery(ctx, &tg.AnswerCallbackQueryParams{CallbackQueryID: q.ID, Text: text})
	}
	msg := q.Message.Message
	if msg == nil {
		answer("That message is too old; send the command again.")
		return
	}
	parts := strings.SplitN(q.Data, ":", 3)
	op, target, arg := parts[0], msg.Chat.ID, ""
	switch {
	case op == "mute" && len(parts) == 2:
		arg = parts[1]
	case len(parts) >= 2:
		t, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil {
			answer("")
			return
		}
		target = t
		if len(parts) == 3 {
			arg = parts[2]
		}
	}
	if !b.canManage(ctx, target, q.From.ID) {
		answer("Only admins of that chat can change its alerts.")
		return
	}
	c := &call{b: b, msg: msg, chat: msg.Chat.ID, target: target, typ: msg.Chat.Type, from: q.From.ID}
	if target != msg.Chat.ID {
		c.label = "that channel"
		if ch, err := b.api.GetChat(ctx, &tg.GetChatParams{ChatID: target}); err == nil && ch.Username != "" {
			c.label = "@" + ch.Username
		}
	}
	edit := func(html string, rows [][]models.InlineKeyboardButton) {
		p := &tg.EditMessageTextParams{ChatID: msg.Chat.ID, MessageID: msg.ID, Text: html, ParseMode: models.ParseModeHTML,
			LinkPreviewOptions: &models.LinkPreviewOptions{IsDisabled: tg.True()}}
		if rows != nil {
			p.ReplyMarkup = &models.InlineKeyboardMarkup{InlineKeyboard: rows}
		}
		if _, err := b.api.EditMessageText(ctx, p); err != nil && !strings.Contains(err.Error(), "not modified") {
			b.log.Warn("edit failed", "chat_id", msg.Chat.ID, "err", err)
		}
	}
	id := subscriptions.TelegramID(target)
	switch op {
	case "ex":
		n, err := strconv.Atoi(arg)
		if err != nil || n < 0 || n >= len(Examples) {
			answer("")
			return
		}
		c.follow(ctx, Examples[n], func(html string) { c.reply(ctx, html) })
		answer("Following " + Examples[n])
	case "sub":
		topic, err := b.st.Redis.Get(ctx, OfferKey(b.st, msg.Chat.ID, arg)).Result()
		if err != nil {
			answer("That offer expired; send the query again.")
			return
		}
		c.follow(ctx, topic, func(html string) { edit(html, nil) })
		answer("")
	case "no":
		edit("OK, nothing changed.", nil)
		answer("")
	case "lm", "mute":
		s, err := b.toggleMute(ctx, id, arg, op == "mute")
		if err != nil {
			answer("That topic is no longer followed.")
			return
		}
		if op == "lm" {
			text, rows := listView(s, target, c.label)
			edit(text, rows)
		}
		answer("Done.")
	case "lr":
		var removed string
		s, err := b.subs.Update(ctx, id, func(s *subscriptions.Subscriber) error {
			i := slices.IndexFunc(s.Topics, func(t string) bool { return topicHash(t) == arg })
			if i < 0 {
				return subscriptions.ErrNoSuchTopic
			}
			removed = s.Topics[i]
			s.Topics = slices.Delete(s.Topics, i, i+1)
			s.Muted = slices.DeleteFunc(s.Muted, func(m string) bool { return m == removed })
			return nil
		})
		if err != nil {
			answer("That topic is no longer followed.")
			return
		}
		text, rows := listView(s, target, c.label)
		edit(text, rows)
		answer("Stopped " + clip(removed, 100))
	case "mode":
		text, err := c.setMode(ctx, arg, -1)
		if err != nil {
			answer("Something went wrong; try again.")
			return
		}
		edit(text, nil)
		answer("")
	case "res":
		if err := c.doResume(ctx); err != nil {
			answer("Something went wrong; try again.")
			return
		}
		edit("Alerts are on again"+c.whose()+".", nil)
		answer("Resumed")
	case "fg":
		if err := b.Forget(ctx, target); err != nil {
			b.log.Error("forget failed", "chat_id", target, "err", err)
			answer("Something went wrong; try again.")
			return
		}
		edit("Done: everything Herald held"+c.whose()+" is deleted. /start begins again.", nil)
		answer("Deleted")
	default:
		answer("")
	}
}
