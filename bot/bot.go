// Package bot is Herald's Telegram side: it answers subscribers' commands
// and sends the alerts the matcher queued, at the pace Telegram allows.
package bot

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
)

// EmailLinker starts email digests of a chat's topics for an address,
// after the reader confirms it by email (signup.Registrar implements it).
type EmailLinker interface {
	LinkEmail(ctx context.Context, chat *subscriptions.Subscriber, addr string) error
}

// Feeds is what the admin commands need of the watcher; package service
// adapts the watcher to it.
type Feeds interface {
	Add(ctx context.Context, rawURL string, interval time.Duration, backfill int) (*Feed, error)
	// Remove returns ErrNoFeed for a URL that is not watched.
	Remove(ctx context.Context, rawURL string) error
	List(ctx context.Context) ([]*Feed, error)
}

// Feed is what the admin commands show of a watched feed.
type Feed struct {
	URL       string
	Kind      string    // feed, sitemap or page
	From      string    // set by Add: the page the source was found on, if not URL
	LastFetch time.Time // zero: never fetched
	Errors    int       // consecutive failed fetches
	Articles  int64     // published from it so far
}

// ErrNoFeed is Feeds.Remove's answer for a URL that is not watched.
var ErrNoFeed = errors.New("feed not watched")

// Bot answers commands. Only one process polls Telegram for updates at a
// time (Telegram allows one getUpdates client): it holds a lease in Redis.
// In webhook mode Telegram posts updates to WebhookHandler instead, on
// whichever process the load balancer picks.
type Bot struct {
	api    *tg.Bot
	st     *store.Store
	subs   *subscriptions.Store
	log    *slog.Logger
	admins []int64
	name   string // the bot's @username, learnt from getMe
	id     int64

	// Consumer names this process when it holds the polling lease.
	Consumer string
	// Email links a chat to email digests; nil means email is off.
	Email EmailLinker
	// PublicURL is HERALD_PUBLIC_URL, under which /feed's addresses are
	// served; "" turns /feed off.
	PublicURL string
	// Feeds serves the admin commands; nil turns them off.
	Feeds Feeds
	// Limiter, when set, makes replies count against the bot-wide rate and
	// the chat's own limit, as alerts do.
	Limiter *Limiter
	// WebhookURL switches from long polling to a webhook at this URL, with
	// WebhookSecret as the secret token Telegram must send back.
	WebhookURL    string
	WebhookSecret string
	// Now is the clock of pauses.
	Now func() time.Time

	// retryWait waits out a retry_after before a reply is sent again
	// (sleep; tests stand in for the clock).
	retryWait func(ctx context.Context, d time.Duration) bool
	// menuBackoff is the first wait before setMyCommands is tried again.
	menuBackoff time.Duration
	// menus tracks setMenus, which Run waits for before it returns.
	menus sync.WaitGroup
	// leaseTTL is how long the polling lease outlives a process that dies
	// without releasing it; it is renewed every third of that.
	leaseTTL time.Duration
}

// New returns a Bot for token at apiURL. It does not call Telegram until
// it runs, so a Telegram that is down does not stop start-up.
func New(token, apiURL string, st *store.Store, subs *subscriptions.Store, admins []int64, log *slog.Logger, opts ...tg.Option) (*Bot, error) {
	if log == nil {
		log = slog.Default()
	}
	b := &Bot{st: st, subs: subs, admins: admins, log: log, Consumer: "bot", Now: time.Now, leaseTTL: 15 * time.Second, retryWait: sleep,
		menuBackoff: time.Second}
	opts = append([]tg.Option{
		tg.WithServerURL(strings.TrimRight(apiURL, "/")),
		tg.WithSkipGetMe(),
		tg.WithHTTPClient(time.Minute, NewHTTPClient()),
		tg.WithDefaultHandler(func(ctx context.Context, _ *tg.Bot, u *models.Update) { b.Handle(ctx, u) }),
		tg.WithErrorsHandler(func(err error) { log.Warn("telegram polling", "err", err) }),
		tg.WithAllowedUpdates(allowedUpdates),
		// Updates of one chat are handled in order only with one worker;
		// several let a slow command not hold up every other chat.
		tg.WithWorkers(4),
	}, opts...)
	api, err := tg.New(token, opts...)
	if err != nil {
		return nil, fmt.Errorf("telegram client: %w", err)
	}
	b.api = api
	b.id = api.ID()
	return b, nil
}

// allowedUpdates are the updates asked of Telegram: membership changes
// (blocked, added to a group) and edits (an edited command) too.
var allowedUpdates = tg.AllowedUpdates{"message", "callback_query", "channel_post",
	"my_chat_member", "edited_message", "edited_channel_post"}

// API is the Bot API client, shared with the sender.
func (b *Bot) API() *tg.Bot { return b.api }

// Commands are the commands of the menu set with setMyCommands, each
// once (aliases such as /subscribe work but are not listed); each one's
// description is the message menu.<command>. The menu leaves out a
// command no handler answers.
var Commands = []string{"start", "help", "sub", "list", "unsubscribe", "preview", "pause", "resume", "mode", "quiet",
	"timezone", "language", "email", "feed", "archive", "forget"}

// AdminCommands are added to the menu of each admin's private chat.
var AdminCommands = []string{"feeds", "addfeed", "removefeed", "stats"}

// menu is a command menu in p's language.
func menu(p locale.P, cmds ...[]string) []models.BotCommand {
	var out []models.BotCommand
	for _, list := range cmds {
		for _, c := range list {
			if _, ok := handlers[c]; ok {
				out = append(out, models.BotCommand{Command: c, Description: p.T("menu." + c)})
			}
		}
	}
	return out
}

// Run receives updates until ctx ends: by long polling while this process
// holds the polling lease (waiting for it otherwise), or in webhook mode by
// registering the webhook and letting WebhookHandler take the updates.
func (b *Bot) Run(ctx context.Context) error {
	defer b.menus.Wait()
	if b.WebhookURL != "" {
		return b.runWebhook(ctx)
	}
	l := &lease{rdb: b.st.Redis, key: pollerKey(b.st), owner: b.Consumer, ttl: b.leaseTTL}
	// A waiting process asks often: the holder releases the lease when it
	// stops, and the next command should not wait for its expiry.
	retry := min(l.ttl/3, time.Second)
	for ctx.Err() == nil {
		ok, err := l.take(ctx)
		if err != nil && ctx.Err() == nil {
			b.log.Warn("cannot take the Telegram polling lease", "err", err)
		}
		if !ok {
			sleep(ctx, retry)
			continue
		}
		b.poll(ctx, l)
	}
	return ctx.Err()
}

// poll runs the long-polling loop while the lease is held, then releases
// the lease once no getUpdates of this process is in flight.
func (b *Bot) poll(ctx context.Context, l *lease) {
	b.log.Info("took the Telegram polling lease", "consumer", l.owner)
	pctx, cancel := context.WithCancel(ctx)
	// A webhook left from webhook mode makes getUpdates fail with 409.
	if _, err := b.api.DeleteWebhook(pctx, &tg.DeleteWebhookParams{}); err != nil && pctx.Err() == nil {
		b.log.Warn("telegram deleteWebhook failed", "err", err)
	}
	b.setup(pctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.api.Start(pctx)
	}()
	b.hold(pctx, l, done)
	cancel()
	<-done
	// ctx may have ended (SIGTERM): the release must still reach Redis.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer rcancel()
	released, err := l.release(rctx)
	if err != nil {
		b.log.Warn("cannot release the Telegram polling lease", "err", err)
	}
	b.log.Info("stopped polling Telegram", "consumer", l.owner, "released", released)
}

// hold renews the lease until it is lost, ctx ends or polling stops. A
// renewal Redis could not answer is retried while the lease may still be
// ours; polling stops a renewal interval before it would have run out.
func (b *Bot) hold(ctx context.Context, l *lease, done <-chan struct{}) {
	every := l.ttl / 3
	t := time.NewTicker(every)
	defer t.Stop()
	renewed := time.Now()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, err := l.renew(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err == nil && ok:
			renewed = time.Now()
		case err == nil:
			b.log.Warn("lost the Telegram polling lease; polling stops", "consumer", l.owner)
			return
		case time.Since(renewed)+every >= l.ttl:
			b.log.Warn("cannot renew the Telegram polling lease; polling stops", "err", err)
			return
		default:
			b.log.Warn("cannot renew the Telegram polling lease; retrying", "err", err)
		}
	}
}

// runWebhook registers the webhook (every process may: it is idempotent)
// and waits for ctx to end; updates arrive through WebhookHandler.
func (b *Bot) runWebhook(ctx context.Context) error {
	for backoff := time.Second; ctx.Err() == nil; backoff = min(2*backoff, time.Minute) {
		_, err := b.api.SetWebhook(ctx, &tg.SetWebhookParams{
			URL: b.WebhookURL, SecretToken: b.WebhookSecret, AllowedUpdates: allowedUpdates,
		})
		if err == nil {
			b.setup(ctx)
			b.log.Info("telegram webhook set", "url", b.WebhookURL)
			break
		}
		if ctx.Err() == nil {
			b.log.Warn("telegram setWebhook failed; retrying", "err", err, "retry_in", backoff)
		}
		sleep(ctx, backoff)
	}
	<-ctx.Done()
	return ctx.Err()
}

// WebhookHandler takes updates Telegram posts in webhook mode. Every
// request must carry the secret token; anything else is refused before the
// body is read.
func (b *Bot) WebhookHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
		if b.WebhookSecret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(b.WebhookSecret)) != 1 {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read the update", http.StatusBadRequest)
			return
		}
		var u models.Update
		if err := json.Unmarshal(body, &u); err != nil {
			// Telegram would resend a refused update forever: take it.
			b.log.Warn("webhook update unreadable", "err", err)
			w.WriteHeader(http.StatusOK)
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
		defer cancel()
		b.Handle(ctx, &u)
		w.WriteHeader(http.StatusOK)
	})
}

func (b *Bot) setup(ctx context.Context) {
	if b.name == "" {
		if me, err := b.api.GetMe(ctx); err == nil {
			b.name, b.id = me.Username, me.ID
		} else if ctx.Err() == nil {
			b.log.Warn("telegram getMe failed", "err", err)
		}
	}
	// The menu is retried in the background: a command works without it,
	// so a Telegram hiccup at start must not delay taking updates.
	b.menus.Add(1)
	go func() {
		defer b.menus.Done()
		b.setMenus(ctx)
	}()
}

// setMenus sets the default command menu and, in each admin's private
// chat, the menu with the admin commands, each in every language (English
// for clients whose language has none), retrying each until Telegram
// takes it or ctx ends.
func (b *Bot) setMenus(ctx context.Context) {
	// An admin who chose a language with /language keeps it (see chatMenu).
	chosen := map[int64]string{}
	for _, id := range b.admins {
		if s, err := b.subs.Get(ctx, subscriptions.TelegramID(id)); err == nil && locale.Valid(s.Lang) {
			chosen[id] = s.Lang
		}
	}
	var menus []*tg.SetMyCommandsParams
	for _, l := range locale.Langs {
		menus = append(menus, &tg.SetMyCommandsParams{Commands: menu(locale.For(l), Commands), LanguageCode: menuCode(l)})
		for _, id := range b.admins {
			menus = append(menus, &tg.SetMyCommandsParams{Commands: menu(locale.For(cmp.Or(chosen[id], l)), Commands, AdminCommands),
				Scope: &models.BotCommandScopeChat{ChatID: id}, LanguageCode: menuCode(l)})
		}
	}
	for _, m := range menus {
		for backoff := b.menuBackoff; ; backoff = min(2*backoff, time.Minute) {
			_, err := b.api.SetMyCommands(ctx, m)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			b.log.Warn("telegram setMyCommands failed; retrying", "err", err, "retry_in", backoff)
			if !sleep(ctx, backoff) {
				return
			}
		}
	}
}

// menuCode is the language_code a language's menus are set for: none
// for Default, which clients of every other language get.
func menuCode(lang string) string {
	if lang == locale.Default {
		return ""
	}
	return lang
}

// chatMenu puts the menu of a private chat in the language it chose
// with /language, for whatever language its app speaks; with lang ""
// the chat follows its app again: an admin's chat gets back its menus
// per language, any other loses its own. A menu Telegram refuses is left
// as it was (the commands work without it).
func (b *Bot) chatMenu(ctx context.Context, chat int64, lang string) {
	scope := &models.BotCommandScopeChat{ChatID: chat}
	lists := [][]string{Commands}
	if b.isAdmin(chat) {
		lists = append(lists, AdminCommands)
	}
	for _, l := range locale.Langs {
		var err error
		switch {
		case lang != "":
			_, err = b.api.SetMyCommands(ctx, &tg.SetMyCommandsParams{Commands: menu(locale.For(lang), lists...), Scope: scope, LanguageCode: menuCode(l)})
		case b.isAdmin(chat):
			_, err = b.api.SetMyCommands(ctx, &tg.SetMyCommandsParams{Commands: menu(locale.For(l), lists...), Scope: scope, LanguageCode: menuCode(l)})
		default:
			_, err = b.api.DeleteMyCommands(ctx, &tg.DeleteMyCommandsParams{Scope: scope, LanguageCode: menuCode(l)})
		}
		if err != nil && ctx.Err() == nil {
			b.log.Warn("cannot set a chat's command menu", "chat_id", chat, "lang", lang, "err", err)
		}
	}
}

// Handle answers one update. Nothing in an update can make it panic.
func (b *Bot) Handle(ctx context.Context, u *models.Update) {
	defer func() {
		if r := recover(); r != nil {
			b.log.Error("update handler panicked", "update", u.ID, "panic", r)
		}
	}()
	if u.CallbackQuery != nil {
		b.callback(ctx, u.CallbackQuery)
		return
	}
	if u.MyChatMember != nil {
		b.membership(ctx, u.MyChatMember)
		return
	}
	msg := u.Message
	if msg == nil {
		msg = u.ChannelPost
	}
	if msg == nil {
		msg = b.edited(ctx, u)
	}
	if msg == nil {
		return
	}
	if msg.MigrateToChatID != 0 {
		b.migrated(ctx, msg.Chat.ID, msg.MigrateToChatID)
		return
	}
	if msg.Text == "" {
		return
	}
	c := &call{b: b, msg: msg, chat: msg.Chat.ID, target: msg.Chat.ID, typ: msg.Chat.Type}
	if msg.From != nil {
		c.from, c.code = msg.From.ID, msg.From.LanguageCode
	}
	cmd, arg, ok := b.command(msg.Text)
	if ok || msg.Chat.Type == models.ChatTypePrivate {
		c.p = b.speak(ctx, c.chat, c.typ, c.code)
	}
	if !ok {
		if msg.Chat.Type == models.ChatTypePrivate && !strings.HasPrefix(strings.TrimSpace(msg.Text), "/") {
			c.offer(ctx, msg.Text)
		}
		return
	}
	c.arg = arg
	b.log.Debug("command", "chat_id", c.chat, "command", cmd)
	if h, ok := handlers[cmd]; ok {
		h(c, ctx)
		return
	}
	if msg.Chat.Type == models.ChatTypePrivate {
		c.reply(ctx, c.p.T("bot.unknown_command", "Command", esc(clip(cmd, 40))))
	}
}

// migrated follows a group that became a supergroup: it leaves the new id
// for alerts and replies still addressed to the old one, and moves the
// group's subscriber, if it has one, to the new id.
func (b *Bot) migrated(ctx context.Context, from, to int64) {
	if err := b.st.Redis.Set(ctx, MovedKey(b.st, from), to, 30*24*time.Hour).Err(); err != nil {
		b.log.Error("cannot remember a migrated group", "chat_id", from, "to", to, "err", err)
	}
	sub, err := b.subs.Get(ctx, subscriptions.TelegramID(from))
	if err != nil {
		if !errors.Is(err, subscriptions.ErrNotFound) {
			b.log.Error("cannot move a migrated group", "chat_id", from, "to", to, "err", err)
		}
		return
	}
	moved := *sub
	moved.ID, moved.ChatID = subscriptions.TelegramID(to), to
	if err := b.subs.Put(ctx, &moved); err != nil {
		b.log.Error("cannot move a migrated group", "chat_id", from, "to", to, "err", err)
		return
	}
	_ = b.subs.Delete(ctx, sub.ID)
	b.log.Info("group migrated", "chat_id", from, "to", to)
}

// command splits "/sub@HeraldBot belarus" into ("sub", "belarus"). A command
// addressed to another bot is not ours.
func (b *Bot) command(text string) (cmd, arg string, ok bool) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "/") {
		return "", "", false
	}
	head, rest, _ := strings.Cut(text, " ")
	if i := strings.IndexAny(head, "\n\t"); i >= 0 {
		head, rest = head[:i], head[i+1:]+" "+rest
	}
	head = head[1:]
	if name, to, found := strings.Cut(head, "@"); found {
		if b.name != "" && !strings.EqualFold(to, b.name) {
			return "", "", false
		}
		head = name
	}
	return strings.ToLower(head), strings.TrimSpace(rest), head != ""
}

func (b *Bot) isAdmin(userID int64) bool { return userID != 0 && slices.Contains(b.admins, userID) }
