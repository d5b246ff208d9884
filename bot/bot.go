// Package bot is Herald's Telegram side: it answers subscribers' commands
// and sends the alerts the matcher queued, at the pace Telegram allows.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
)

// Bot answers commands. Only one process polls Telegram for updates at a
// time (Telegram allows one getUpdates client): it holds a lease in Redis.
type Bot struct {
	api    *tg.Bot
	st     *store.Store
	subs   *subscriptions.Store
	log    *slog.Logger
	admins []int64
	name   string // the bot's @username, learnt from getMe

	// Consumer names this process when it holds the polling lease.
	Consumer string
}

// New returns a Bot for token at apiURL. It does not call Telegram until
// it runs, so a Telegram that is down does not stop start-up.
func New(token, apiURL string, st *store.Store, subs *subscriptions.Store, admins []int64, log *slog.Logger, opts ...tg.Option) (*Bot, error) {
	if log == nil {
		log = slog.Default()
	}
	b := &Bot{st: st, subs: subs, admins: admins, log: log, Consumer: "bot"}
	opts = append([]tg.Option{
		tg.WithServerURL(strings.TrimRight(apiURL, "/")),
		tg.WithSkipGetMe(),
		tg.WithDefaultHandler(func(ctx context.Context, _ *tg.Bot, u *models.Update) { b.Handle(ctx, u) }),
		tg.WithErrorsHandler(func(err error) { log.Warn("telegram polling", "err", err) }),
		tg.WithAllowedUpdates(tg.AllowedUpdates{"message", "callback_query", "channel_post"}),
	}, opts...)
	api, err := tg.New(token, opts...)
	if err != nil {
		return nil, fmt.Errorf("telegram client: %w", err)
	}
	b.api = api
	return b, nil
}

// API is the Bot API client, shared with the sender.
func (b *Bot) API() *tg.Bot { return b.api }

// Commands is the command menu set with setMyCommands.
var Commands = []models.BotCommand{
	{Command: "start", Description: "Start and see examples"},
	{Command: "sub", Description: "Follow a topic: /sub belarus OR minsk"},
	{Command: "list", Description: "Your topics"},
	{Command: "unsubscribe", Description: "Stop a topic: /unsubscribe 2"},
	{Command: "help", Description: "How topics work"},
}

func (b *Bot) leaseKey() string { return b.st.Key("{tg}", "poller") }

// Run polls Telegram for updates while this process holds the polling lease,
// and waits for the lease otherwise, until ctx ends.
func (b *Bot) Run(ctx context.Context) error {
	const lease = 15 * time.Second
	for ctx.Err() == nil {
		ok, err := b.st.Redis.SetNX(ctx, b.leaseKey(), b.Consumer, lease).Result()
		if err != nil || !ok {
			if err != nil && ctx.Err() == nil {
				b.log.Warn("cannot take the Telegram polling lease", "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(lease / 3):
			}
			continue
		}
		b.poll(ctx, lease)
	}
	return ctx.Err()
}

// poll runs the long-polling loop, renewing the lease, until the lease is
// lost or ctx ends.
func (b *Bot) poll(ctx context.Context, lease time.Duration) {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.setup(pctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.getUpdates(pctx)
	}()
	t := time.NewTicker(lease / 3)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			// Renew only if the lease is still ours.
			v, err := b.st.Redis.Get(pctx, b.leaseKey()).Result()
			if err == nil && v == b.Consumer {
				b.st.Redis.Expire(pctx, b.leaseKey(), lease)
				continue
			}
			if err != nil && pctx.Err() == nil {
				b.log.Warn("cannot renew the Telegram polling lease", "err", err)
			}
			cancel()
			<-done
			return
		}
	}
}

func (b *Bot) setup(ctx context.Context) {
	if b.name == "" {
		if me, err := b.api.GetMe(ctx); err == nil {
			b.name = me.Username
		} else if ctx.Err() == nil {
			b.log.Warn("telegram getMe failed", "err", err)
		}
	}
	if _, err := b.api.SetMyCommands(ctx, &tg.SetMyCommandsParams{Commands: Commands}); err != nil && ctx.Err() == nil {
		b.log.Warn("telegram setMyCommands failed", "err", err)
	}
}

// getUpdates long-polls Telegram until ctx ends; the library confirms each
// update on its next poll.
func (b *Bot) getUpdates(ctx context.Context) { b.api.Start(ctx) }

// Handle answers one update. Nothing in an update can make it panic.
func (b *Bot) Handle(ctx context.Context, u *models.Update) {
	defer func() {
		if r := recover(); r != nil {
			b.log.Error("update handler panicked", "update", u.ID, "panic", r)
		}
	}()
	msg := u.Message
	if msg == nil {
		msg = u.ChannelPost
	}
	if msg == nil || msg.Text == "" {
		return
	}
	cmd, arg, ok := b.command(msg.Text)
	if !ok {
		if msg.Chat.Type == models.ChatTypePrivate {
			b.reply(ctx, msg.Chat.ID, "Send <code>/sub "+esc(clip(msg.Text, 200))+"</code> to follow that topic, or /help.")
		}
		return
	}
	chatID := msg.Chat.ID
	var from int64
	if msg.From != nil {
		from = msg.From.ID
	}
	b.log.Debug("command", "chat_id", chatID, "command", cmd)
	switch cmd {
	case "start", "help":
		b.start(ctx, msg)
	case "sub", "subscribe":
		b.subscribe(ctx, msg, arg)
	case "list":
		b.list(ctx, chatID)
	case "unsubscribe", "unsub":
		b.unsubscribe(ctx, chatID, arg)
	default:
		_ = from
		b.reply(ctx, chatID, "I don't know /"+esc(cmd)+". Try /help.")
	}
}

// command splits "/sub@HeraldBot belarus" into ("sub", "belarus"). A command
// addressed to another bot is not ours.
func (b *Bot) command(text string) (cmd, arg string, ok bool) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "/") {
		return "", "", false
	}
	head, rest, _ := strings.Cut(text, " ")
	head = head[1:]
	if name, to, found := strings.Cut(head, "@"); found {
		if b.name != "" && !strings.EqualFold(to, b.name) {
			return "", "", false
		}
		head = name
	}
	return strings.ToLower(head), strings.TrimSpace(rest), head != ""
}

func (b *Bot) isAdmin(userID int64) bool { return slices.Contains(b.admins, userID) }

func (b *Bot) ensure(ctx context.Context, chat models.Chat) (*subscriptions.Subscriber, error) {
	id := subscriptions.TelegramID(chat.ID)
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
	s = &subscriptions.Subscriber{ID: id, Kind: subscriptions.KindTelegram, ChatID: chat.ID,
		Status: subscriptions.StatusActive, Frequency: "instant", TZ: "UTC"}
	return s, b.subs.Put(ctx, s)
}

func (b *Bot) start(ctx context.Context, msg *models.Message) {
	if _, err := b.ensure(ctx, msg.Chat); err != nil {
		b.fail(ctx, msg.Chat.ID, err)
		return
	}
	b.reply(ctx, msg.Chat.ID, strings.Join([]string{
		"<b>Herald</b> sends you news as it is published, on the topics you follow.",
		"",
		"Follow a topic with /sub and a query, for example:",
		"<code>/sub belarus</code>",
		"<code>/sub \"military cooperation\" iran -israel</code>",
		"<code>/sub drone* OR uav</code>",
		"",
		"Words match their forms (drone → drones), \"quotes\" match a phrase, -word excludes, OR gives a choice, title:word looks only in headlines, site:example.com limits to one site.",
		"",
		"/list shows your topics; /unsubscribe N stops one.",
	}, "\n"))
}

func (b *Bot) subscribe(ctx context.Context, msg *models.Message, query string) {
	chatID := msg.Chat.ID
	if query == "" {
		b.reply(ctx, chatID, "Give a topic after the command, e.g. <code>/sub belarus</code>.")
		return
	}
	q, err := subscriptions.Parse(query)
	if err != nil {
		b.reply(ctx, chatID, "That topic can't be used: "+esc(err.Error()))
		return
	}
	if _, err := b.ensure(ctx, msg.Chat); err != nil {
		b.fail(ctx, chatID, err)
		return
	}
	topic := q.String()
	_, err = b.subs.AddTopic(ctx, subscriptions.TelegramID(chatID), topic)
	switch {
	case errors.Is(err, subscriptions.ErrDuplicate):
		b.reply(ctx, chatID, "You already follow <code>"+esc(topic)+"</code>.")
	case errors.Is(err, subscriptions.ErrTooMany):
		b.reply(ctx, chatID, "You follow as many topics as allowed; /unsubscribe one first.")
	case err != nil:
		b.fail(ctx, chatID, err)
	default:
		b.reply(ctx, chatID, "Following <code>"+esc(topic)+"</code>. You'll get new articles that match as they are published.")
	}
}

func (b *Bot) list(ctx context.Context, chatID int64) {
	s, err := b.subs.Get(ctx, subscriptions.TelegramID(chatID))
	if errors.Is(err, subscriptions.ErrNotFound) || (err == nil && len(s.Topics) == 0) {
		b.reply(ctx, chatID, "You follow no topics yet. Try <code>/sub belarus</code>.")
		return
	}
	if err != nil {
		b.fail(ctx, chatID, err)
		return
	}
	var sb strings.Builder
	sb.WriteString("<b>Your topics</b>\n")
	for i, t := range s.Topics {
		fmt.Fprintf(&sb, "%d. <code>%s</code>\n", i+1, esc(t))
	}
	sb.WriteString("\nStop one with /unsubscribe N.")
	b.reply(ctx, chatID, sb.String())
}

func (b *Bot) unsubscribe(ctx context.Context, chatID int64, arg string) {
	n, err := strconv.Atoi(strings.TrimSpace(arg))
	if err != nil {
		b.reply(ctx, chatID, "Give the number of the topic from /list, e.g. <code>/unsubscribe 2</code>.")
		return
	}
	topic, err := b.subs.RemoveTopic(ctx, subscriptions.TelegramID(chatID), n)
	switch {
	case errors.Is(err, subscriptions.ErrNoSuchTopic), errors.Is(err, subscriptions.ErrNotFound):
		b.reply(ctx, chatID, "There is no topic number "+strconv.Itoa(n)+"; see /list.")
	case err != nil:
		b.fail(ctx, chatID, err)
	default:
		b.reply(ctx, chatID, "Stopped <code>"+esc(topic)+"</code>.")
	}
}

func (b *Bot) fail(ctx context.Context, chatID int64, err error) {
	b.log.Error("command failed", "chat_id", chatID, "err", err)
	b.reply(ctx, chatID, "Something went wrong on our side; please try again in a minute.")
}

func (b *Bot) reply(ctx context.Context, chatID int64, html string) {
	_, err := b.api.SendMessage(ctx, &tg.SendMessageParams{
		ChatID: chatID, Text: html, ParseMode: models.ParseModeHTML,
		LinkPreviewOptions: &models.LinkPreviewOptions{IsDisabled: tg.True()},
	})
	if err != nil && ctx.Err() == nil {
		b.log.Warn("reply failed", "chat_id", chatID, "err", err)
	}
}
