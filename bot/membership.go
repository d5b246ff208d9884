package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/herald-news/herald/subscriptions"
)

// membership follows the bot's own membership of a chat (my_chat_member):
// a user who blocks the bot, or a group or channel that removes it (or takes
// its right to post), stops getting alerts, and gets them again once it lets
// the bot back; a group that adds the bot is greeted with how to subscribe
// it. The blocked state is the one the sender sets on a 403:
// subscriptions.StatusInactive.
func (b *Bot) membership(ctx context.Context, u *models.ChatMemberUpdated) {
	chat := u.Chat.ID
	was, now := reach(u.OldChatMember, u.Chat.Type), reach(u.NewChatMember, u.Chat.Type)
	// Logged once it is dealt with: a test waits for the line.
	defer b.log.Info("bot membership changed", "chat_id", chat, "chat_type", u.Chat.Type,
		"from", u.OldChatMember.Type, "to", u.NewChatMember.Type, "can_post", now == reachPost, "by", u.From.ID)
	following := false // a chat already following topics, before this update
	switch {
	case now != reachPost:
		b.setReachable(ctx, chat, false)
	case was != reachPost:
		following = b.setReachable(ctx, chat, true)
	}
	switch u.Chat.Type {
	case models.ChatTypeGroup, models.ChatTypeSupergroup:
		// A group that follows topics with the bot in it (one that just
		// became a supergroup, say) knows how to use it already.
		if was == reachNone && now == reachPost && !following {
			b.greet(ctx, u)
		}
	case models.ChatTypeChannel:
		// Nothing is said in a channel: its subscribers read what the bot
		// posts. /sub @channel asks Telegram for the bot's rights when an
		// admin subscribes it, so nothing needs remembering here.
		if u.NewChatMember.Type == models.ChatMemberTypeAdministrator && was == reachNone {
			b.log.Info("made an admin of a channel", "chat_id", chat, "channel", u.Chat.Username, "can_post", now == reachPost)
		}
	}
}

// How far the bot reaches into a chat.
const (
	reachNone   = iota // not in it: left, kicked, blocked
	reachMember        // in it, but may not post
	reachPost          // may post
)

// reach reads what a ChatMember says of the bot in a chat of type typ.
func reach(m models.ChatMember, typ models.ChatType) int {
	switch m.Type {
	case models.ChatMemberTypeOwner, models.ChatMemberTypeMember:
		return reachPost
	case models.ChatMemberTypeAdministrator:
		if typ == models.ChatTypeChannel && (m.Administrator == nil || !m.Administrator.CanPostMessages) {
			return reachMember
		}
		return reachPost
	case models.ChatMemberTypeRestricted:
		switch {
		case m.Restricted == nil || !m.Restricted.IsMember:
			return reachNone
		case !m.Restricted.CanSendMessages:
			return reachMember
		}
		return reachPost
	}
	return reachNone
}

// setReachable marks a chat's subscriber blocked (inactive: the sender
// drops its alerts and the matcher skips it) or, once the bot may post
// again, active. A paused chat stays paused either way, and a chat with no
// subscriber gets none. It reports whether the chat was active or paused
// with topics before.
func (b *Bot) setReachable(ctx context.Context, chat int64, ok bool) (following bool) {
	id := subscriptions.TelegramID(chat)
	_, err := b.subs.Update(ctx, id, func(s *subscriptions.Subscriber) error {
		following = len(s.Topics) > 0 && (s.Status == subscriptions.StatusActive || s.Status == subscriptions.StatusPaused)
		switch {
		case ok && s.Status == subscriptions.StatusInactive:
			s.Status = subscriptions.StatusActive
		case !ok && s.Status == subscriptions.StatusActive:
			s.Status = subscriptions.StatusInactive
		default:
			return errUnchanged
		}
		return nil
	})
	switch {
	case err == nil:
		b.log.Info("chat reachability changed", "chat_id", chat, "subscriber", id, "active", ok)
	case errors.Is(err, errUnchanged), errors.Is(err, subscriptions.ErrNotFound):
	default:
		b.log.Error("cannot record a membership change", "chat_id", chat, "subscriber", id, "err", err)
	}
	return following
}

// errUnchanged ends an update that has nothing to change.
var errUnchanged = errors.New("unchanged")

// greet tells a group the bot was added to how an admin subscribes it.
func (b *Bot) greet(ctx context.Context, u *models.ChatMemberUpdated) {
	p := b.speak(ctx, u.Chat.ID, u.Chat.Type, u.From.LanguageCode)
	at := ""
	if b.name != "" {
		at = "@" + b.name
	}
	html := p.T("botupd.group.greeting", "Sub", esc("/sub"+at), "Help", esc("/help"+at))
	if at != "" {
		html += "\n" + p.T("botupd.group.address", "Bot", esc(at))
	}
	b.reply(ctx, u.Chat.ID, html, nil)
}

// editTTL is how long an edit is remembered as handled: longer than
// Telegram keeps an update it could deliver again (24 hours).
const editTTL = 25 * time.Hour

// edited returns the message of an edit (edited_message,
// edited_channel_post) when it carries a command for this bot that was not
// handled before, to be answered like a new one: an edited /sub follows the
// edited query. The same edit delivered twice (after a crash, or to two
// webhook processes) is handled once. Other edits are not answered: a
// subscription offer for each fix of a typo would be noise.
func (b *Bot) edited(ctx context.Context, u *models.Update) *models.Message {
	m := u.EditedMessage
	if m == nil {
		m = u.EditedChannelPost
	}
	if m == nil || m.MigrateToChatID != 0 {
		return nil
	}
	if _, _, ok := b.command(m.Text); !ok {
		return nil
	}
	sum := sha256.Sum256([]byte(m.Text))
	key := EditKey(b.st, m.Chat.ID, m.ID, m.EditDate, hex.EncodeToString(sum[:8]))
	first, err := b.st.Redis.SetNX(ctx, key, 1, editTTL).Result()
	if err != nil {
		// Better an edit unanswered than answered twice.
		b.log.Warn("cannot record an edited command; ignoring it", "chat_id", m.Chat.ID, "err", err)
		return nil
	}
	if !first {
		b.log.Debug("edited command handled before", "chat_id", m.Chat.ID, "message", m.ID)
		return nil
	}
	return m
}

// EditKey marks an edit of a command as handled: the message, the edit's
// time and its text name one edit.
func EditKey(st interface{ Key(...string) string }, chat int64, msg, editDate int, textHash string) string {
	return st.Key("{tg}", "edit", strconv.FormatInt(chat, 10), strconv.Itoa(msg), strconv.Itoa(editDate), textHash)
}

// channel answers "/sub @name QUERY" (and the other commands naming a
// channel) from a private chat: it finds the channel and checks, in this
// order, that the bot is in it, that the sender is one of its admins, and
// that the bot may post there, saying which one fails. It returns the
// channel, or nil after replying.
func (c *call) channel(ctx context.Context, name string) *models.ChatFullInfo {
	p := c.p
	shown := esc(clip(name, 40))
	ch, err := c.b.api.GetChat(ctx, &tg.GetChatParams{ChatID: name})
	switch {
	case err != nil && errors.Is(err, tg.ErrorBadRequest):
		c.reply(ctx, p.T("botupd.channel.not_found", "Channel", shown))
		return nil
	case err != nil && errors.Is(err, tg.ErrorForbidden):
		// A chat that banned the bot.
		c.reply(ctx, p.T("botupd.channel.bot_not_admin", "Channel", shown))
		return nil
	case err != nil:
		c.fail(ctx, err)
		return nil
	case ch.Type == models.ChatTypePrivate:
		c.reply(ctx, p.T("botupd.channel.is_person", "Channel", shown))
		return nil
	}
	me, err := c.b.api.GetChatMember(ctx, &tg.GetChatMemberParams{ChatID: ch.ID, UserID: c.b.id})
	if err != nil && !errors.Is(err, tg.ErrorBadRequest) && !errors.Is(err, tg.ErrorForbidden) {
		c.fail(ctx, err)
		return nil
	}
	bot := reachNone
	if err == nil {
		bot = reach(*me, ch.Type)
	}
	if bot == reachNone || ch.Type == models.ChatTypeChannel && me.Type != models.ChatMemberTypeAdministrator {
		c.reply(ctx, p.T("botupd.channel.bot_not_admin", "Channel", shown))
		return nil
	}
	if !c.b.isChatAdmin(ctx, ch.ID, c.from) {
		c.reply(ctx, p.T("botupd.channel.you_not_admin", "Channel", shown))
		return nil
	}
	if bot != reachPost {
		c.reply(ctx, p.T("botupd.channel.bot_cannot_post", "Channel", shown))
		return nil
	}
	return ch
}
