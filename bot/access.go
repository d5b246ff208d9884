package bot

import (
	"context"
	"strings"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
)

// resolve settles whose subscription the command is about and whether the
// sender may change it. "/sub @channel QUERY" from a private chat is about
// the channel and needs the sender to be one of its admins (and the bot
// able to post there); in a group, changes need a group admin.
func (c *call) resolve(ctx context.Context, change bool) bool {
	if c.typ == models.ChatTypePrivate && strings.HasPrefix(c.arg, "@") {
		name, rest, _ := strings.Cut(c.arg, " ")
		ch := c.channel(ctx, name) // membership.go: says why it refuses
		if ch == nil {
			return false
		}
		c.target, c.typ, c.label, c.arg = ch.ID, ch.Type, name, strings.TrimSpace(rest)
		return true
	}
	if change && (c.typ == models.ChatTypeGroup || c.typ == models.ChatTypeSupergroup) {
		anonymousAdmin := c.msg.SenderChat != nil && c.msg.SenderChat.ID == c.chat
		if !anonymousAdmin && !c.b.isChatAdmin(ctx, c.chat, c.from) {
			c.reply(ctx, c.p.T("bot.access.group_admins"))
			return false
		}
	}
	return true
}

// isChatAdmin asks Telegram whether user administers chat.
func (b *Bot) isChatAdmin(ctx context.Context, chat, user int64) bool {
	if user == 0 {
		return false
	}
	m, err := b.api.GetChatMember(ctx, &tg.GetChatMemberParams{ChatID: chat, UserID: user})
	if err != nil {
		// Refusing is the safe answer, but the admin who was refused
		// needs a trace of why.
		if ctx.Err() == nil {
			b.log.Warn("cannot check admin rights; taking the user for no admin", "chat_id", chat, "user", user, "err", err)
		}
		return false
	}
	return m.Type == models.ChatMemberTypeOwner || m.Type == models.ChatMemberTypeAdministrator
}

// canManage says whether user may change target's alerts from a button.
func (b *Bot) canManage(ctx context.Context, target, user int64) bool {
	if target > 0 {
		return target == user
	}
	return b.isChatAdmin(ctx, target, user)
}
