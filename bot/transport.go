package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/herald-news/herald/locale"
)

// Transport puts one HTML message into a chat.
type Transport interface {
	Send(ctx context.Context, chatID int64, html string, link string) error
}

// AlertTransport is a Transport that can also put a "Mute topic" button
// (callback data mute) under an alert; the sender uses it when it can.
type AlertTransport interface {
	SendAlert(ctx context.Context, chatID int64, html, link, mute string) error
}

// KeyboardTransport is a Transport that can put any inline keyboard under
// a message; the sender uses it for the Open and Mute buttons of a
// gathered message.
type KeyboardTransport interface {
	SendKeyboard(ctx context.Context, chatID int64, html string, rows [][]models.InlineKeyboardButton) error
}

// Errors a Transport returns for the sender to act on.
var (
	ErrBlocked  = errors.New("chat blocked the bot or no longer exists")
	ErrBadInput = errors.New("telegram refused the message")
	// ErrUnsure: the request was written but no answer came (a timeout, a
	// reset connection), so Telegram may have taken the message.
	ErrUnsure = errors.New("no answer after the request was sent: telegram may have the message")
	// ErrUnreadable: Telegram answered HTTP 200, so it took the message,
	// but the answer could not be read. The message counts as sent.
	ErrUnreadable = errors.New("telegram took the message but its answer is unreadable")
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
	// Paid sends with allow_paid_broadcast, which lifts the bot-wide limit
	// to 1,000 messages a second for a fee in Telegram Stars.
	Paid bool
}

// Send implements Transport.
func (t *APITransport) Send(ctx context.Context, chatID int64, html, link string) error {
	return t.SendAlert(ctx, chatID, html, link, "")
}

// SendAlert implements AlertTransport, with English buttons; the sender
// sends through SendKeyboard with the buttons in the chat's language.
func (t *APITransport) SendAlert(ctx context.Context, chatID int64, html, link, mute string) error {
	return t.SendKeyboard(ctx, chatID, html, alertKeyboard(locale.For(locale.Default), link, mute))
}

// SendKeyboard implements KeyboardTransport.
func (t *APITransport) SendKeyboard(ctx context.Context, chatID int64, html string, rows [][]models.InlineKeyboardButton) error {
	p := &tg.SendMessageParams{ChatID: chatID, Text: html, ParseMode: models.ParseModeHTML, AllowPaidBroadcast: t.Paid}
	if !t.Previews {
		p.LinkPreviewOptions = &models.LinkPreviewOptions{IsDisabled: tg.True()}
	}
	if len(rows) > 0 {
		p.ReplyMarkup = &models.InlineKeyboardMarkup{InlineKeyboard: rows}
	}
	ctx, ex := watchExchange(ctx)
	_, err := t.API.SendMessage(ctx, p)
	return classifySend(err, ex)
}

// classifySend turns the outcome of a send into the sender's errors,
// telling apart from what the HTTP client saw a failure that may have
// reached Telegram from one that did not.
func classifySend(err error, ex *exchange) error {
	if err == nil {
		return nil
	}
	traced, wrote, status := ex.seen()
	switch {
	case status == http.StatusOK:
		// go-telegram/bot reports a body that does not decode as an error
		// whatever the status; the status says Telegram took it.
		return fmt.Errorf("%w: %v", ErrUnreadable, err)
	case status == 0 && (wrote || !traced):
		// No answer, after the whole request was written (or through a
		// client that does not say): Telegram may have it.
		return fmt.Errorf("%w: %v", ErrUnsure, err)
	}
	// An answer with an error status, or a failure before the request was
	// written (a dial error, a refused connection): it may be retried.
	return classify(err)
}

// goneChat are the parts of Bot API error descriptions that say the chat
// cannot be written to any more (most come with 403, some with 400): the
// subscriber is deactivated instead of retried for ever.
var goneChat = []string{
	"chat not found", "user not found", "peer_id_invalid", "bot was blocked",
	"user is deactivated", "bot was kicked", "bot is not a member",
	"group chat was deactivated", "chat_write_forbidden",
	"have no rights to send", "not enough rights to send",
	"need administrator rights", // a channel admin without the right to post
}

// chatGone reports whether a Bot API error says the chat is out of reach.
func chatGone(err error) bool {
	msg := strings.ToLower(err.Error())
	for _, g := range goneChat {
		if strings.Contains(msg, g) {
			return true
		}
	}
	return false
}

// classify turns a Bot API error into the sender's errors.
func classify(err error) error {
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
	case errors.Is(err, tg.ErrorBadRequest) && chatGone(err):
		return fmt.Errorf("%w: %v", ErrBlocked, err)
	case errors.Is(err, tg.ErrorBadRequest):
		// About the message itself (entities, length, a button): the
		// chat is fine.
		return fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	return err
}

// NewHTTPClient is the client for the Bot API: enough idle connections to
// the one host for a pool of senders working at 1,000 messages a second.
func NewHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 256        // default 100 is shared by every host
	tr.MaxIdleConnsPerHost = 128 // default 2 would reopen a connection per message
	tr.IdleConnTimeout = 90 * time.Second
	// Long polls wait up to a minute; 75 s also bounds a hung send.
	return &http.Client{Transport: watchingTransport{tr}, Timeout: 75 * time.Second}
}

// exchange is what the HTTP client saw of one request: whether the whole
// request was written, and the status of the answer. A send needs it to
// know whether a failure may have reached Telegram, which go-telegram/bot's
// errors do not say.
type exchange struct {
	mu     sync.Mutex
	traced bool // the request went through watchingTransport
	wrote  bool
	status int // 0: no answer
}

func (e *exchange) seen() (traced, wrote bool, status int) {
	if e == nil {
		return false, false, 0
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.traced, e.wrote, e.status
}

type exchangeKey struct{}

// watchExchange asks the HTTP client to record the request made with ctx.
func watchExchange(ctx context.Context) (context.Context, *exchange) {
	ex := &exchange{}
	return context.WithValue(ctx, exchangeKey{}, ex), ex
}

// watchingTransport records, for requests whose context asks for it,
// whether the request was written in full and what status came back.
type watchingTransport struct{ base http.RoundTripper }

func (t watchingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ex, _ := req.Context().Value(exchangeKey{}).(*exchange)
	if ex == nil {
		return t.base.RoundTrip(req)
	}
	ex.mu.Lock()
	ex.traced = true
	ex.mu.Unlock()
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		// A request cut off while being written is incomplete, and
		// Telegram does not act on it.
		if i.Err == nil {
			ex.mu.Lock()
			ex.wrote = true
			ex.mu.Unlock()
		}
	}}
	resp, err := t.base.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	if resp != nil {
		ex.mu.Lock()
		ex.status = resp.StatusCode
		ex.mu.Unlock()
	}
	return resp, err
}
