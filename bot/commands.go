package bot

import (
	"context"
	"errors"
	"strconv"

	"github.com/go-telegram/bot/models"
	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/subscriptions"
)

// call is one command being answered.
type call struct {
	b      *Bot
	msg    *models.Message
	chat   int64           // where the command came from: replies go here
	target int64           // whose alerts it is about: the chat, or a channel named with @
	typ    models.ChatType // the target's type
	label  string          // how replies name the target ("" for the chat itself)
	from   int64           // the user who sent it (0 in a channel)
	code   string          // the sender's Telegram language_code
	p      locale.P        // the language of replies
	arg    string
}

var handlers map[string]func(*call, context.Context)

func init() {
	handlers = map[string]func(*call, context.Context){
		"start": (*call).start, "help": (*call).help,
		"sub": (*call).subscribe, "subscribe": (*call).subscribe,
		"list":        (*call).list,
		"unsubscribe": (*call).unsubscribe, "unsub": (*call).unsubscribe,
		"preview":  (*call).preview,
		"pause":    (*call).pause,
		"resume":   (*call).resume,
		"mode":     (*call).mode,
		"quiet":    (*call).quiet,
		"timezone": (*call).timezone, "tz": (*call).timezone,
		"email":      (*call).email,
		"forget":     (*call).forget,
		"feed":       (*call).feed,
		"archive":    (*call).archive,
		"feeds":      (*call).feeds,
		"addfeed":    (*call).addFeed,
		"removefeed": (*call).removeFeed,
		"stats":      (*call).stats,
		"language":   (*call).language, "lang": (*call).language,
	}
}

// Examples offered by /start, one button each.
var Examples = []string{"belarus", `"military cooperation" iran -israel`, "drone* OR uav"}

func (c *call) reply(ctx context.Context, html string) { c.b.reply(ctx, c.chat, html, nil) }

func (c *call) replyKB(ctx context.Context, html string, rows ...[]models.InlineKeyboardButton) {
	var kb *models.InlineKeyboardMarkup
	if len(rows) > 0 {
		kb = &models.InlineKeyboardMarkup{InlineKeyboard: rows}
	}
	c.b.reply(ctx, c.chat, html, kb)
}

func (c *call) fail(ctx context.Context, err error) {
	c.b.log.Error("command failed", "chat_id", c.chat, "err", err)
	c.reply(ctx, c.p.T("bot.failed"))
}

func button(text, data string) models.InlineKeyboardButton {
	return models.InlineKeyboardButton{Text: text, CallbackData: data}
}

// data builds callback data "op:target[:arg]"; Telegram allows 64 bytes,
// which a chat id and a 12-hex-digit hash stay well under.
func data(op string, target int64, arg string) string {
	d := op + ":" + strconv.FormatInt(target, 10)
	if arg != "" {
		d += ":" + arg
	}
	return d
}

// whose names the target in replies: "", or " for @channel".
func (c *call) whose() string {
	if c.label == "" {
		return ""
	}
	return c.p.T("bot.for", "Label", esc(c.label))
}

// ensure returns the target's subscriber, making it if needed, and
// remembers the language_code of whoever set it up (see noteCode).
func (c *call) ensure(ctx context.Context) (*subscriptions.Subscriber, error) {
	s, err := c.b.ensure(ctx, c.target)
	if err == nil && c.from != 0 {
		c.b.noteCode(ctx, s, c.code)
	}
	return s, err
}

// ensure returns the target's subscriber, making it if needed; a chat that
// had been deactivated comes back to life when it talks to the bot again.
func (b *Bot) ensure(ctx context.Context, target int64) (*subscriptions.Subscriber, error) {
	id := subscriptions.TelegramID(target)
	s, err := b.subs.Get(ctx, id)
	if err == nil {
		if s.Status != subscriptions.StatusActive && s.Status != subscriptions.StatusPaused {
			s, err = b.subs.Update(ctx, id, func(s *subscriptions.Subscriber) error {
				s.Status = subscriptions.StatusActive
				return nil
			})
		}
		return s, err
	}
	if !errors.Is(err, subscriptions.ErrNotFound) {
		return nil, err
	}
	s = &subscriptions.Subscriber{ID: id, Kind: subscriptions.KindTelegram, ChatID: target,
		Status: subscriptions.StatusActive, Frequency: ModeInstant, TZ: "UTC", Created: b.Now().UTC()}
	return s, b.subs.Put(ctx, s)
}

// update changes the target's subscriber, making it first if needed, and
// re-plans its held alerts for the new settings.
func (c *call) update(ctx context.Context, fn func(*subscriptions.Subscriber) error) (*subscriptions.Subscriber, error) {
	if _, err := c.ensure(ctx); err != nil {
		return nil, err
	}
	s, err := c.b.subs.Update(ctx, subscriptions.TelegramID(c.target), fn)
	if err != nil {
		return nil, err
	}
	c.b.reschedule(ctx, s)
	return s, nil
}

// reschedule moves a subscriber's held alerts to the time its settings now
// give (at once, after a switch to instant alerts).
func (b *Bot) reschedule(ctx context.Context, s *subscriptions.Subscriber) {
	at := releaseAt(s, b.Now())
	for _, tag := range heldTagsOf(s.ID) {
		b.st.Redis.ZAddXX(ctx, b.st.Key(tag, "due"), redis.Z{Score: float64(at.UnixMilli()), Member: s.ID})
	}
}
