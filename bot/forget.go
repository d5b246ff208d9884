package bot

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-telegram/bot/models"

	"github.com/herald-news/herald/subscriptions"
)

func (c *call) forget(ctx context.Context) {
	if !c.resolve(ctx, true) {
		return
	}
	c.replyKB(ctx, c.p.T("bot.forget.ask", "For", c.whose()),
		[]models.InlineKeyboardButton{button(c.p.T("bot.forget.yes"), data("fg", c.target, "")), button(c.p.T("bot.forget.no"), data("no", c.target, ""))})
}

// Forget deletes everything Herald holds on a chat: its subscriber, the
// alerts held for its round-ups, and (through the subscriber's creation
// time, see Sender) every alert still queued for it.
func (b *Bot) Forget(ctx context.Context, chat int64) error {
	id := subscriptions.TelegramID(chat)
	if err := b.subs.Delete(ctx, id); err != nil && !errors.Is(err, subscriptions.ErrNotFound) {
		return err
	}
	// Its shard's held list, and the one an earlier version kept in {tg}.
	for _, tag := range heldTagsOf(id) {
		if err := b.st.Redis.Del(ctx, b.st.Key(tag, "held", id)).Err(); err != nil {
			return fmt.Errorf("forget held alerts of %s: %w", id, err)
		}
		if err := b.st.Redis.ZRem(ctx, b.st.Key(tag, "due"), id).Err(); err != nil {
			return err
		}
	}
	return nil
}
