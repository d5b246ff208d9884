package bot

import (
	"context"
	"errors"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"github.com/redis/go-redis/v9"
)

// maxReplyWait bounds how long a command's reply waits out Telegram's
// retry_after, all attempts together: a reply a minute late still answers
// the command, and meanwhile it holds one of the few update workers.
const maxReplyWait = time.Minute

// replyAttempts bounds the sends of one reply: a redirect to a migrated
// group and a wait for retry_after each take one.
const replyAttempts = 3

// reply sends an HTML message to a chat, keeping to the limits when the
// bot has a Limiter, waiting out a 429 (up to maxReplyWait) and following
// a group that became a supergroup. A reply that cannot be sent is logged.
func (b *Bot) reply(ctx context.Context, chatID int64, html string, kb *models.InlineKeyboardMarkup) {
	chatID = b.movedTo(ctx, chatID)
	p := &tg.SendMessageParams{
		Text: html, ParseMode: models.ParseModeHTML,
		LinkPreviewOptions: &models.LinkPreviewOptions{IsDisabled: tg.True()},
	}
	if kb != nil {
		p.ReplyMarkup = kb
	}
	var waited time.Duration
	for range replyAttempts {
		tk, ok := b.admitReply(ctx, chatID)
		if !ok {
			b.log.Warn("reply dropped", "chat_id", chatID, "err", ctx.Err())
			return
		}
		p.ChatID = chatID
		_, err := b.api.SendMessage(ctx, p)
		err = classify(err)
		var ra *RetryAfterError
		var mig *MigratedError
		if tk != nil {
			var hold time.Duration
			if errors.As(err, &ra) {
				hold = ra.After
			}
			_ = b.Limiter.Finish(ctx, tk, hold)
		}
		switch {
		case err == nil:
			return
		case errors.As(err, &mig):
			b.migrated(ctx, chatID, mig.To)
			chatID = mig.To
		case errors.As(err, &ra) && waited+ra.After > maxReplyWait:
			b.log.Warn("reply dropped: Telegram asks to wait longer than a reply waits",
				"chat_id", chatID, "retry_after", ra.After, "waited", waited)
			return
		case errors.As(err, &ra):
			waited += ra.After
			if !b.retryWait(ctx, ra.After) {
				b.log.Warn("reply dropped", "chat_id", chatID, "retry_after", ra.After, "err", ctx.Err())
				return
			}
		default:
			if ctx.Err() == nil {
				b.log.Warn("reply failed", "chat_id", chatID, "err", err)
			}
			return
		}
	}
	b.log.Warn("reply dropped", "chat_id", chatID, "attempts", replyAttempts)
}

// movedTo returns the supergroup a group migrated to, or the chat itself.
// Only groups migrate, so other chats cost no lookup.
func (b *Bot) movedTo(ctx context.Context, chatID int64) int64 {
	if chatID >= 0 {
		return chatID
	}
	to, err := b.st.Redis.Get(ctx, MovedKey(b.st, chatID)).Int64()
	if err != nil {
		if !errors.Is(err, redis.Nil) && ctx.Err() == nil {
			b.log.Warn("cannot look up a migrated group", "chat_id", chatID, "err", err)
		}
		return chatID
	}
	return to
}

// admitReply waits until the Limiter lets a reply go to chatID. It returns
// no ticket without a Limiter, or when the Limiter cannot be asked (the
// reply then goes unpaced: an answer matters more), and false when ctx
// ended first.
func (b *Bot) admitReply(ctx context.Context, chatID int64) (*Ticket, bool) {
	if b.Limiter == nil {
		return nil, ctx.Err() == nil
	}
	var tk *Ticket
	for i := 0; i < 10 && tk == nil; i++ {
		t, wait, err := b.Limiter.Admit(ctx, chatID)
		if err != nil {
			if ctx.Err() != nil {
				return nil, false
			}
			break
		}
		if tk = t; tk == nil && !sleep(ctx, wait) {
			return nil, false
		}
	}
	if tk != nil && !tk.Wait(ctx) {
		b.Limiter.Cancel(tk)
		return nil, false
	}
	return tk, true
}
