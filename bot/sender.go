package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/queue"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/watcher"
)

// Transport puts one HTML message into a chat.
type Transport interface {
	Send(ctx context.Context, chatID int64, html string, link string) error
}

// Errors a Transport returns for the sender to act on.
var (
	ErrBlocked  = errors.New("chat blocked the bot or no longer exists")
	ErrBadInput = errors.New("telegram refused the message")
)

// RetryAfterError asks to wait before sending to the chat again.
type RetryAfterError struct{ After time.Duration }

func (e *RetryAfterError) Error() string { return fmt.Sprintf("retry after %s", e.After) }

// MigratedError says a group became a supergroup with a new id.
type MigratedError struct{ To int64 }

func (e *MigratedError) Error() string { return fmt.Sprintf("chat migrated to %d", e.To) }

// APITransport sends through the Telegram Bot API.
type APITransport struct {
	API *tg.Bot
	// Previews shows link previews under alerts.
	Previews bool
}

// Send implements Transport.
func (t *APITransport) Send(ctx context.Context, chatID int64, html, link string) error {
	p := &tg.SendMessageParams{ChatID: chatID, Text: html, ParseMode: models.ParseModeHTML}
	if !t.Previews {
		p.LinkPreviewOptions = &models.LinkPreviewOptions{IsDisabled: tg.True()}
	}
	if u := safeURL(link); u != "" {
		p.ReplyMarkup = &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{{Text: "Open article", URL: u}}}}
	}
	_, err := t.API.SendMessage(ctx, p)
	var tooMany *tg.TooManyRequestsError
	var migrated *tg.MigrateError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tooMany):
		return &RetryAfterError{After: time.Duration(max(tooMany.RetryAfter, 1)) * time.Second}
	case errors.As(err, &migrated):
		return &MigratedError{To: int64(migrated.MigrateToChatID)}
	case errors.Is(err, tg.ErrorForbidden):
		return fmt.Errorf("%w: %v", ErrBlocked, err)
	case errors.Is(err, tg.ErrorBadRequest) && strings.Contains(strings.ToLower(err.Error()), "chat not found"):
		return fmt.Errorf("%w: %v", ErrBlocked, err)
	case errors.Is(err, tg.ErrorBadRequest):
		return fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	return err
}

// Sender delivers queued alerts.
type Sender struct {
	st   *store.Store
	subs *subscriptions.Store
	tr   Transport
	log  *slog.Logger

	// Summarize gives the summary shown in an alert; the default takes the
	// article's first sentences.
	Summarize func(ctx context.Context, a *article.Article, topic string) string
	// Rate is the most messages a second for the whole bot.
	Rate float64
	// Consumer names this process in the queue's consumer group.
	Consumer string
	// ClaimAfter is the queue's ClaimAfter (0: the queue's default).
	ClaimAfter time.Duration
	// Sent, when set, is told of every message sent (metrics, the demo).
	Sent func(chatID int64, html string)
	// Now is the clock.
	Now func() time.Time

	mu       sync.Mutex
	next     time.Time           // earliest time of the next message (global pace)
	chatNext map[int64]time.Time // earliest next message per chat
}

// NewSender returns a Sender through tr.
func NewSender(st *store.Store, subs *subscriptions.Store, tr Transport, log *slog.Logger) *Sender {
	if log == nil {
		log = slog.Default()
	}
	return &Sender{st: st, subs: subs, tr: tr, log: log, Rate: 25, Consumer: "sender", Now: time.Now, chatNext: map[int64]time.Time{}}
}

// Stream is the alert queue as this sender reads it.
func (s *Sender) Stream() *queue.Stream {
	return &queue.Stream{Redis: s.st.Redis, Key: delivery.TelegramQueue(s.st), Group: "telegram", Consumer: s.Consumer, ClaimAfter: s.ClaimAfter, Log: s.log}
}

// Run sends alerts until ctx ends.
func (s *Sender) Run(ctx context.Context) error {
	q := s.Stream()
	for {
		err := q.Ensure(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Warn("cannot open the alert queue; retrying", "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return q.Run(ctx, s.handle)
}

func (s *Sender) handle(ctx context.Context, m queue.Message) error {
	chatID, _ := strconv.ParseInt(m.Get("chat"), 10, 64)
	al := delivery.Alert{Sub: m.Get("sub"), ChatID: chatID, Article: m.Get("article"), Topic: m.Get("topic")}
	return s.Deliver(ctx, al)
}

// Deliver sends one alert, waiting out rate limits; it returns nil when the
// alert is done with (sent, or the chat is gone) and an error to retry later.
func (s *Sender) Deliver(ctx context.Context, al delivery.Alert) error {
	sub, err := s.subs.Get(ctx, al.Sub)
	if errors.Is(err, subscriptions.ErrNotFound) {
		return nil // forgotten since the match
	}
	if err != nil {
		return err
	}
	if !sub.Active() {
		return nil
	}
	raw, err := s.st.Redis.Get(ctx, watcher.ArticleKey(s.st, al.Article)).Bytes()
	if errors.Is(err, redis.Nil) {
		s.log.Warn("article expired before its alert", "article", al.Article)
		return nil
	}
	if err != nil {
		return err
	}
	var a article.Article
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil
	}
	summary := ""
	if s.Summarize != nil {
		summary = s.Summarize(ctx, &a, al.Topic)
	} else {
		summary = leadSentences(a.Body(), 2)
	}
	html := Alert(&a, summary, al.Topic, s.Now())
	chatID := sub.ChatID
	for attempt := 0; ; attempt++ {
		if err := s.wait(ctx, chatID); err != nil {
			return err
		}
		err := s.tr.Send(ctx, chatID, html, a.URL)
		var ra *RetryAfterError
		var mig *MigratedError
		switch {
		case err == nil:
			if s.Sent != nil {
				s.Sent(chatID, html)
			}
			s.log.Info("alert sent", "chat_id", chatID, "article", a.ID)
			return nil
		case errors.As(err, &ra):
			s.hold(chatID, ra.After)
			s.log.Warn("telegram asked to slow down", "chat_id", chatID, "retry_after", ra.After)
		case errors.As(err, &mig):
			s.log.Info("group migrated", "chat_id", chatID, "to", mig.To)
			if err := s.migrate(ctx, sub, mig.To); err != nil {
				return err
			}
			chatID = mig.To
		case errors.Is(err, ErrBlocked):
			s.log.Info("chat gone; deactivating", "chat_id", chatID, "err", err)
			_, uerr := s.subs.Update(ctx, sub.ID, func(x *subscriptions.Subscriber) error {
				x.Status = subscriptions.StatusInactive
				return nil
			})
			return uerr
		case errors.Is(err, ErrBadInput):
			s.log.Error("telegram refused an alert; dropping it", "chat_id", chatID, "article", a.ID, "err", err)
			return nil
		default:
			if ctx.Err() != nil || attempt >= 5 {
				return err
			}
			d := time.Duration(1<<attempt) * 500 * time.Millisecond
			s.log.Warn("send failed; retrying", "chat_id", chatID, "err", err, "retry_in", d)
			s.hold(chatID, d)
		}
	}
}

// migrate moves a group's subscription to its new supergroup id.
func (s *Sender) migrate(ctx context.Context, sub *subscriptions.Subscriber, to int64) error {
	moved := *sub
	moved.ID, moved.ChatID = subscriptions.TelegramID(to), to
	if err := s.subs.Put(ctx, &moved); err != nil {
		return err
	}
	return s.subs.Delete(ctx, sub.ID)
}

// wait blocks until both the bot-wide pace and the chat's own limit (one
// message a second) allow the next message, then books it.
func (s *Sender) wait(ctx context.Context, chatID int64) error {
	for {
		s.mu.Lock()
		now := s.Now()
		at := s.next
		if c := s.chatNext[chatID]; c.After(at) {
			at = c
		}
		if !at.After(now) {
			gap := time.Duration(float64(time.Second) / max(s.Rate, 0.1))
			s.next = now.Add(gap)
			perChat := time.Second
			if chatID < 0 {
				perChat = 3 * time.Second // groups: 20 a minute
			}
			s.chatNext[chatID] = now.Add(perChat)
			s.mu.Unlock()
			return nil
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(at.Sub(now)):
		}
	}
}

func (s *Sender) hold(chatID int64, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.Now().Add(d); t.After(s.chatNext[chatID]) {
		s.chatNext[chatID] = t
	}
}

// leadSentences returns roughly the first n sentences of text.
func leadSentences(text string, n int) string {
	text = strings.Join(strings.Fields(text), " ")
	end := 0
	for i := 0; i < n; i++ {
		j := strings.IndexAny(text[end:], ".!?")
		if j < 0 {
			return clip(text, 600)
		}
		end += j + 1
	}
	return clip(text[:end], 600)
}
