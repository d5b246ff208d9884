// Package signup is how an email reader comes in: a sign-up from the web
// form, answered by a confirmation email (double opt-in) or, for a reader
// already active, by their manage link; and Telegram's /email, which makes
// an email reader of a chat's topics and links the two once the address
// confirms. It decides who gets which email and what changes when a link
// is opened; the mailer builds and sends the emails.
package signup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/herald-news/herald/mailer"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/token"
)

// Mail sends the emails that answer a sign-up; *mailer.Mailer does.
type Mail interface {
	SendConfirmation(ctx context.Context, sub *subscriptions.Subscriber) error
	SendManageLink(ctx context.Context, sub *subscriptions.Subscriber) error
	SendLinkConfirmation(ctx context.Context, reader, chat *subscriptions.Subscriber) error
}

// ErrAddress is a malformed email address given to LinkEmail.
var ErrAddress = errors.New("not an email address")

// Registrar takes sign-ups and the confirmations of their links.
type Registrar struct {
	subs *subscriptions.Store
	mail Mail
	log  *slog.Logger

	// Now is the clock; tests control it.
	Now func() time.Time
}

// New returns a Registrar keeping readers in subs and mailing them
// through mail.
func New(subs *subscriptions.Store, mail Mail, log *slog.Logger) *Registrar {
	if log == nil {
		log = slog.Default()
	}
	return &Registrar{subs: subs, mail: mail, log: log, Now: time.Now}
}

// Prefs are a sign-up's choices, already checked.
type Prefs struct {
	Topics    []string
	Frequency string
	Hour      int
	TZ        string
}

// Subscribe records a sign-up of a checked address and returns the reader
// and the email that answers it, for the caller to send when it chooses
// (the web page sends it after answering, so that the answer's time tells
// nothing); send is nil when nothing is to be sent.
//
// Whatever is known about the address, the caller may say the same thing:
// an active or paused reader is mailed their manage link (their choices
// stay until they change them there), anyone else a fresh confirmation
// with the new choices; a suspended address gets nothing, as it bounces.
func (r *Registrar) Subscribe(ctx context.Context, email string, p Prefs) (sub *subscriptions.Subscriber, send func(context.Context) error, err error) {
	sub, err = r.subs.ByEmail(ctx, email)
	switch {
	case errors.Is(err, subscriptions.ErrNotFound):
		sub = &subscriptions.Subscriber{ID: subscriptions.NewReaderID(), Kind: subscriptions.KindEmail, Email: email, Status: subscriptions.StatusPending}
	case err != nil:
		return nil, nil, fmt.Errorf("look up sign-up: %w", err)
	}
	switch sub.Status {
	case subscriptions.StatusActive, subscriptions.StatusPaused:
		return sub, func(ctx context.Context) error { return r.mail.SendManageLink(ctx, sub) }, nil
	case subscriptions.StatusSuspended:
		return sub, nil, nil
	}
	sub.Topics, sub.Frequency, sub.Hour, sub.TZ = p.Topics, p.Frequency, p.Hour, p.TZ
	sub.Status = subscriptions.StatusPending
	if err := r.subs.Put(ctx, sub); err != nil {
		return nil, nil, fmt.Errorf("save sign-up: %w", err)
	}
	return sub, func(ctx context.Context) error { return r.mail.SendConfirmation(ctx, sub) }, nil
}

// LinkEmail is Telegram's /email ADDRESS: it mails addr a confirmation, and
// once it is opened (ConfirmLink) the address gets digests of the chat's
// topics. Nothing about an existing reader of addr changes before that.
//
// Topics stay in step through Subscriber.LinkedTo, which each of the two
// names the other with: whoever changes one side's topics copies them to
// the other (subscriptions.Store.Update), and each digest copies the
// chat's topics again in case a copy was missed (Store.SyncLinked).
func (r *Registrar) LinkEmail(ctx context.Context, chat *subscriptions.Subscriber, addr string) error {
	email, err := mailer.CheckAddress(addr)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrAddress, err)
	}
	sub, err := r.subs.ByEmail(ctx, email)
	switch {
	case errors.Is(err, subscriptions.ErrNotFound):
		tz := chat.TZ
		if tz == "" {
			tz = "UTC"
		}
		sub = &subscriptions.Subscriber{ID: subscriptions.NewReaderID(), Kind: subscriptions.KindEmail, Email: email,
			Status: subscriptions.StatusPending, Topics: slices.Clone(chat.Topics), Frequency: "daily", Hour: 8, TZ: tz,
			LinkedTo: chat.ID, Created: r.Now().UTC()}
		if err := r.subs.Put(ctx, sub); err != nil {
			return fmt.Errorf("link email to %s: %w", chat.ID, err)
		}
	case err != nil:
		return fmt.Errorf("link email to %s: %w", chat.ID, err)
	case sub.Status == subscriptions.StatusSuspended:
		// The address bounced; another confirmation would bounce too.
		r.log.Info("email link to a suspended address not sent", "subscriber", sub.ID, "chat", chat.ID)
		return nil
	}
	return r.mail.SendLinkConfirmation(ctx, sub, chat)
}

// ConfirmLink completes LinkEmail once the link in its email was opened:
// subject is the token's "READER CHAT". The reader becomes active with the
// chat's topics and the two name each other in LinkedTo.
func (r *Registrar) ConfirmLink(ctx context.Context, subject string) (*subscriptions.Subscriber, error) {
	readerID, chatID, ok := strings.Cut(subject, " ")
	if !ok || readerID == "" || chatID == "" {
		return nil, token.ErrInvalid
	}
	chat, err := r.subs.Get(ctx, chatID)
	if err != nil {
		return nil, err
	}
	sub, err := r.subs.Update(ctx, readerID, func(s *subscriptions.Subscriber) error {
		if s.Status == subscriptions.StatusSuspended {
			return nil
		}
		s.Status = subscriptions.StatusActive
		s.LinkedTo = chat.ID
		s.Topics = slices.Clone(chat.Topics)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := r.subs.Update(ctx, chat.ID, func(c *subscriptions.Subscriber) error {
		c.LinkedTo = sub.ID
		return nil
	}); err != nil {
		return nil, err
	}
	r.log.Info("email linked to chat", "subscriber", sub.ID, "chat", chat.ID)
	return sub, nil
}
