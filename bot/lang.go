package bot

import (
	"context"
	"errors"
	"strings"

	"github.com/go-telegram/bot/models"

	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/subscriptions"
)

// CodeField is the Data field holding the Telegram language_code a chat
// follows while it has chosen no language with /language: in a private
// chat that of its user's latest update, in a group or channel that of the
// admin who set it up. The sender, which has no update at hand, writes
// alerts in it.
const CodeField = "bot.tglang"

// printer is the language a chat is written to in: the one it chose with
// /language, else the one its remembered language_code asks for.
func printer(s *subscriptions.Subscriber) locale.P {
	if s == nil {
		return locale.For(locale.Default)
	}
	if locale.Valid(s.Lang) {
		return locale.For(s.Lang)
	}
	return locale.For(locale.Match(s.Data[CodeField]))
}

// speak settles the language of the replies to an update in chat from a
// user whose Telegram client speaks code, and remembers code on a private
// chat's subscriber: the user's latest update is the one that counts. A
// group or channel keeps the code it was set up with (see noteCode).
func (b *Bot) speak(ctx context.Context, chat int64, typ models.ChatType, code string) locale.P {
	s, err := b.subs.Get(ctx, subscriptions.TelegramID(chat))
	if err != nil {
		if !errors.Is(err, subscriptions.ErrNotFound) && ctx.Err() == nil {
			b.log.Warn("cannot read a chat's language", "chat_id", chat, "err", err)
		}
		return locale.For(locale.Match(code))
	}
	if typ == models.ChatTypePrivate {
		b.noteCode(ctx, s, code)
	}
	if locale.Valid(s.Lang) {
		return locale.For(s.Lang)
	}
	if typ != models.ChatTypePrivate && s.Data[CodeField] != "" {
		return printer(s)
	}
	return locale.For(locale.Match(code))
}

// noteCode remembers code on a subscriber: always on a user's own chat,
// only when none is held on a group or channel (the code of whoever set
// it up).
func (b *Bot) noteCode(ctx context.Context, s *subscriptions.Subscriber, code string) {
	code = strings.TrimSpace(code)
	if code == "" || len(code) > 35 || s.Data[CodeField] == code {
		return
	}
	var err error
	if s.ChatID > 0 {
		_, err = b.subs.Update(ctx, s.ID, func(x *subscriptions.Subscriber) error {
			if x.Data == nil {
				x.Data = map[string]string{}
			}
			x.Data[CodeField] = code
			return nil
		})
	} else if s.Data[CodeField] == "" {
		_, err = b.subs.DataOnce(ctx, s.ID, CodeField, code)
	}
	if err != nil && !errors.Is(err, subscriptions.ErrNotFound) && ctx.Err() == nil {
		b.log.Warn("cannot remember a chat's language_code", "subscriber", s.ID, "err", err)
	}
}

// language answers /language: with no argument the choice as buttons;
// "/language ru", "en" or "auto" (follow Telegram's language again).
func (c *call) language(ctx context.Context) {
	if !c.resolve(ctx, true) {
		return
	}
	arg := strings.ToLower(strings.TrimSpace(c.arg))
	if arg == "" {
		cur := c.p.T("bot.lang.auto")
		if s, err := c.b.subs.Get(ctx, subscriptions.TelegramID(c.target)); err == nil && locale.Valid(s.Lang) {
			cur = c.p.T("bot.lang.name." + s.Lang)
		}
		var row []models.InlineKeyboardButton
		for _, l := range locale.Langs {
			row = append(row, button(locale.Name(l), data("lang", c.target, l)))
		}
		c.replyKB(ctx, c.p.T("bot.lang.current", "For", c.whose(), "Lang", esc(cur)),
			row, []models.InlineKeyboardButton{button(c.p.T("bot.lang.auto_button"), data("lang", c.target, "auto"))})
		return
	}
	text, ok, err := c.setLanguage(ctx, arg)
	switch {
	case err != nil:
		c.fail(ctx, err)
	case !ok:
		c.reply(ctx, c.p.T("bot.lang.unknown", "Arg", esc(clip(arg, 20))))
	default:
		c.reply(ctx, text)
	}
}

// setLanguage sets the target's language ("auto" clears it) and returns
// the confirmation, written in the language the chat gets from now on.
func (c *call) setLanguage(ctx context.Context, arg string) (string, bool, error) {
	lang := ""
	if arg != "auto" {
		if !locale.Valid(arg) {
			return "", false, nil
		}
		lang = arg
	}
	s, err := c.update(ctx, func(s *subscriptions.Subscriber) error { s.Lang = lang; return nil })
	if err != nil {
		return "", true, err
	}
	if c.target == c.chat {
		c.p = printer(s)
	}
	if c.target == c.chat && c.typ == models.ChatTypePrivate {
		c.b.chatMenu(ctx, c.chat, lang)
	}
	if lang == "" {
		return c.p.T("bot.lang.set_auto", "For", c.whose()), true, nil
	}
	return c.p.T("bot.lang.set", "For", c.whose(), "Lang", c.p.T("bot.lang.name."+lang)), true, nil
}
