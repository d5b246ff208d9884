// Package signup is how an email reader comes in: a sign-up from the web
// form, answered by a confirmation email (double opt-in) or, for a reader
// already active, by their manage link; and Telegram's /email, which makes
// an email reader of a chat's topics and links the two once the address
// confirms. It decides who gets which email, keeps what each confirmation
// link confirms, and applies it when a person presses the confirm button;
// the mailer builds the emails and sends them through its queue.
package signup

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/herald-news/herald/mailer"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
)

// Mail queues the emails that answer a sign-up; *mailer.Mailer does.
type Mail interface {
	QueueConfirmation(ctx context.Context, c *mailer.Confirmation) error
}

var (
	// ErrAddress is a malformed email address given to LinkEmail.
	ErrAddress = errors.New("not an email address")
	// ErrUsed is a confirmation link whose confirmation was already
	// completed (by this link or a later one) or has expired.
	ErrUsed = errors.New("confirmation already used or expired")
)

// DailyLimit is how many sign-up emails (confirmations and manage links)
// one address, and one Telegram chat, may be sent in any 24 hours,
// whatever asked for them. Beyond it a request is accepted as usual and
// only logged, so that neither the page nor the bot tells anything about
// the address.
const DailyLimit = 3

// Registrar takes sign-ups and the confirmations of their links.
type Registrar struct {
	st   *store.Store
	subs *subscriptions.Store
	mail Mail
	log  *slog.Logger

	// Now is the clock; tests control it.
	Now func() time.Time
	// Limit is DailyLimit unless a test changes it.
	Limit int
}

// New returns a Registrar keeping readers in subs (on st) and mailing them
// through mail.
func New(st *store.Store, subs *subscriptions.Store, mail Mail, log *slog.Logger) *Registrar {
	if log == nil {
		log = slog.Default()
	}
	return &Registrar{st: st, subs: subs, mail: mail, log: log, Now: time.Now, Limit: DailyLimit}
}

// Prefs are a sign-up's choices, already checked.
type Prefs struct {
	Topics    []string
	Frequency string
	Hour      int
	TZ        string
	// Lang is the language the sign-up was made in (locale), which its
	// emails are written in and which the reader keeps once the link is
	// confirmed; "" is English.
	Lang string
}

// Subscribe answers a sign-up of a checked address. Whatever is known
// about the address, the caller says the same thing: an active or paused
// reader is mailed their manage link (their choices stay until they change
// them there), anyone else a confirmation listing p, which the link in it
// confirms and nothing else does; a suspended address gets nothing, as it
// bounces, and neither does one over DailyLimit. Nothing about the reader
// changes before a link is used.
func (r *Registrar) Subscribe(ctx context.Context, email string, p Prefs) error {
	sub, err := r.subs.ByEmail(ctx, email)
	switch {
	case errors.Is(err, subscriptions.ErrNotFound):
		sub = nil
	case err != nil:
		return fmt.Errorf("look up sign-up: %w", err)
	case sub.Status == subscriptions.StatusSuspended:
		r.log.Info("sign-up of a suspended address not mailed", "subscriber", sub.ID)
		return nil
	}
	if ok, err := r.admit(ctx, "email", addressKey(email)); err != nil || !ok {
		if err == nil {
			r.log.Warn("sign-up over the daily limit of its address; nothing sent", "subscriber", idOf(sub))
		}
		return err
	}
	if sub != nil && (sub.Status == subscriptions.StatusActive || sub.Status == subscriptions.StatusPaused) {
		return r.queue(ctx, &mailer.Confirmation{Kind: mailer.ConfirmManage, Sub: sub.ID, To: sub.Email, Topics: sub.Topics,
			Lang: cmp.Or(sub.Lang, p.Lang)})
	}
	if sub == nil {
		// The reader exists from the first sign-up on, holding no topics:
		// what they get is decided by the link they confirm.
		sub = &subscriptions.Subscriber{ID: subscriptions.NewReaderID(), Kind: subscriptions.KindEmail, Email: email,
			Status: subscriptions.StatusPending, Frequency: p.Frequency, Hour: p.Hour, TZ: p.TZ, Lang: p.Lang, Created: r.Now().UTC()}
		if err := r.subs.Put(ctx, sub); err != nil {
			return fmt.Errorf("save sign-up: %w", err)
		}
	}
	ticket, exp, err := r.hold(ctx, sub.ID, &pending{Topics: p.Topics, Frequency: p.Frequency, Hour: p.Hour, TZ: p.TZ, Lang: p.Lang})
	if err != nil {
		return err
	}
	return r.queue(ctx, &mailer.Confirmation{Kind: mailer.ConfirmSignup, Sub: sub.ID, To: sub.Email, Ticket: ticket,
		Expires: exp, Topics: p.Topics, Frequency: p.Frequency, Lang: cmp.Or(p.Lang, sub.Lang)})
}

// LinkEmail is Telegram's /email ADDRESS: it mails addr a confirmation, and
// once it is confirmed (Confirm) the address gets digests of the chat's
// topics. Nothing about an existing reader of addr changes before that.
// Over DailyLimit for the chat or the address it sends nothing and says
// nothing different.
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
		sub = nil
	case err != nil:
		return fmt.Errorf("link email to %s: %w", chat.ID, err)
	case sub.Status == subscriptions.StatusSuspended:
		// The address bounced; another confirmation would bounce too.
		r.log.Info("email link to a suspended address not sent", "subscriber", sub.ID, "chat_id", chat.ChatID)
		return nil
	}
	for _, k := range []struct{ kind, key string }{{"chat", chat.ID}, {"email", addressKey(email)}} {
		ok, err := r.admit(ctx, k.kind, k.key)
		if err != nil {
			return fmt.Errorf("link email to %s: %w", chat.ID, err)
		}
		if !ok {
			r.log.Warn("email link over the daily limit of its "+k.kind+"; nothing sent", "chat_id", chat.ChatID, "subscriber", idOf(sub))
			return nil
		}
	}
	if sub == nil {
		tz := chat.TZ
		if tz == "" {
			tz = "UTC"
		}
		sub = &subscriptions.Subscriber{ID: subscriptions.NewReaderID(), Kind: subscriptions.KindEmail, Email: email,
			Status: subscriptions.StatusPending, Frequency: "daily", Hour: 8, TZ: tz, Lang: chat.Lang, Created: r.Now().UTC()}
		if err := r.subs.Put(ctx, sub); err != nil {
			return fmt.Errorf("link email to %s: %w", chat.ID, err)
		}
	}
	ticket, exp, err := r.hold(ctx, sub.ID, &pending{Chat: chat.ID, Topics: chat.Topics})
	if err != nil {
		return fmt.Errorf("link email to %s: %w", chat.ID, err)
	}
	return r.queue(ctx, &mailer.Confirmation{Kind: mailer.ConfirmLink, Sub: sub.ID, To: sub.Email, Ticket: ticket,
		Expires: exp, Topics: chat.Topics, Lang: cmp.Or(chat.Lang, sub.Lang)})
}

func (r *Registrar) queue(ctx context.Context, c *mailer.Confirmation) error {
	if err := r.mail.QueueConfirmation(ctx, c); err != nil {
		return err
	}
	r.log.Info("sign-up email queued", "subscriber", c.Sub, "kind", c.Kind)
	return nil
}

func idOf(s *subscriptions.Subscriber) string {
	if s == nil {
		return ""
	}
	return s.ID
}
