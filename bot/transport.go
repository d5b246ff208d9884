package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
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
	// Paid sends with allow_paid_broadcast, which lifts the bot-wide limit
	// to 1,000 messages a second for a fee in Telegram Stars.
	Paid bool
}

// Send implements Transport.
func (t *APITransport) Send(ctx context.Context, chatID int64, html, link string) error {
	return t.SendAlert(ctx, chatID, html, link, "")
}

// SendAlert implements AlertTransport.
func (t *APITransport) SendAlert(ctx context.Context, chatID int64, html, link, mute string) error {
	p := &tg.SendMessageParams{ChatID: chatID, Text: html, ParseMode: models.ParseModeHTML, AllowPaidBroadcast: t.Paid}
	if !t.Previews {
		p.LinkPreviewOptions = &models.LinkPreviewOptions{IsDisabled: tg.True()}
	}
	var row []models.InlineKeyboardButton
	if u := safeURL(link); u != "" {
		row = append(row, models.InlineKeyboardButton{Text: "Open article", URL: u})
	}
	if mute != "" {
		row = append(row, models.InlineKeyboardButton{Text: "🔕 Mute topic", CallbackData: mute})
	}
	if len(row) > 0 {
		p.ReplyMarkup = &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{row}}
	}
	_, err := t.API.SendMessage(ctx, p)
	return classify(err)
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
	case errors.Is(err, tg.ErrorBadRequest) && strings.Contains(strings.ToLower(err.Error()), "chat not found"):
		return fmt.Errorf("%w: %v", ErrBlocked, err)
	case errors.Is(err, tg.ErrorBadRequest):
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
	return &http.Client{Transport: tr, Timeout: 75 * time.Second}
}
