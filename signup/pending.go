package signup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/mailer"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/token"
)

// pending is what one confirmation email listed, kept under the ticket its
// link names: a later sign-up for the same address gets a ticket of its
// own and cannot change what an earlier link confirms.
type pending struct {
	Topics    []string  `json:"q"`
	Frequency string    `json:"f,omitempty"`
	Hour      int       `json:"h,omitempty"`
	TZ        string    `json:"tz,omitempty"`
	Lang      string    `json:"l,omitempty"`
	Chat      string    `json:"chat,omitempty"`
	Expires   time.Time `json:"x"`
}

// pendingKey is the hash of a reader's pending confirmations, ticket
// nonce → pending; it lives beside the reader, in its slot.
func (r *Registrar) pendingKey(id string) string { return subscriptions.Key(r.st, id, "confirm") }

// hold keeps p for reader id and returns the ticket (the signed link's
// subject, "READER NONCE") and when it expires.
func (r *Registrar) hold(ctx context.Context, id string, p *pending) (string, time.Time, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	nonce := hex.EncodeToString(b[:])
	p.Expires = r.Now().Add(mailer.ConfirmValidity).UTC()
	raw, err := json.Marshal(p)
	if err != nil {
		return "", time.Time{}, err
	}
	key := r.pendingKey(id)
	_, err = r.st.Redis.TxPipelined(ctx, func(pl redis.Pipeliner) error {
		pl.HSet(ctx, key, nonce, raw)
		// The whole hash goes a link's validity after its latest entry;
		// each entry's own expiry is checked when it is read.
		pl.Expire(ctx, key, mailer.ConfirmValidity)
		return nil
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("keep pending confirmation of %s: %w", id, err)
	}
	return id + " " + nonce, p.Expires, nil
}

// Pending is what a confirmation link confirms, shown on the page whose
// button confirms it.
type Pending struct {
	Reader    *subscriptions.Subscriber
	Topics    []string
	Frequency string
	Hour      int
	TZ        string
	Lang      string // the language of the sign-up page; "" for none
	// Chat is the Telegram chat whose topics the reader is to follow.
	Chat string
}

// Lookup returns what the link with this ticket confirms, changing
// nothing. A ticket whose confirmation was used or expired gives ErrUsed
// (with the reader, so the page can tell an active one that all is well);
// a reader deleted since gives subscriptions.ErrNotFound.
func (r *Registrar) Lookup(ctx context.Context, ticket string) (*Pending, error) {
	id, nonce, _ := strings.Cut(ticket, " ")
	if id == "" {
		return nil, token.ErrInvalid
	}
	reader, err := r.subs.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case nonce == "":
		// A link mailed before confirmations were kept apart: it
		// confirms the reader's choices as they are.
		return &Pending{Reader: reader, Topics: reader.Topics, Frequency: reader.Frequency, Hour: reader.Hour, TZ: reader.TZ}, nil
	case strings.HasPrefix(nonce, "tg:"):
		// The same for an older Telegram link, "READER CHAT".
		chat, err := r.subs.Get(ctx, nonce)
		if err != nil {
			return nil, err
		}
		return &Pending{Reader: reader, Topics: chat.Topics, Chat: chat.ID}, nil
	}
	raw, err := r.st.Redis.HGet(ctx, r.pendingKey(id), nonce).Bytes()
	if errors.Is(err, redis.Nil) {
		return &Pending{Reader: reader}, ErrUsed
	}
	if err != nil {
		return nil, fmt.Errorf("read pending confirmation of %s: %w", id, err)
	}
	var p pending
	if err := json.Unmarshal(raw, &p); err != nil || r.Now().After(p.Expires) {
		return &Pending{Reader: reader}, ErrUsed
	}
	return &Pending{Reader: reader, Topics: p.Topics, Frequency: p.Frequency, Hour: p.Hour, TZ: p.TZ, Lang: p.Lang, Chat: p.Chat}, nil
}

// Confirm completes the confirmation the ticket names, when a person
// pressed the button: the reader becomes active with exactly the choices
// its email listed (for Telegram's /email, linked to the chat), and the
// reader's other pending confirmations are dropped, as from now on the
// manage page changes the choices. A suspended reader stays suspended.
func (r *Registrar) Confirm(ctx context.Context, ticket string) (*subscriptions.Subscriber, error) {
	p, err := r.Lookup(ctx, ticket)
	if err != nil {
		if p != nil {
			return p.Reader, err
		}
		return nil, err
	}
	var chat *subscriptions.Subscriber
	if p.Chat != "" {
		if chat, err = r.subs.Get(ctx, p.Chat); err != nil {
			return nil, err
		}
	}
	sub, err := r.subs.Update(ctx, p.Reader.ID, func(s *subscriptions.Subscriber) error {
		if s.Status == subscriptions.StatusSuspended {
			return nil
		}
		s.Status = subscriptions.StatusActive
		s.Topics = slices.Clone(p.Topics)
		if p.Frequency != "" {
			s.Frequency, s.Hour, s.TZ = p.Frequency, p.Hour, p.TZ
		}
		if p.Lang != "" {
			s.Lang = p.Lang
		}
		if chat != nil {
			s.LinkedTo = chat.ID
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if sub.Status != subscriptions.StatusActive {
		return sub, nil
	}
	if chat != nil {
		if _, err := r.subs.Update(ctx, chat.ID, func(c *subscriptions.Subscriber) error {
			c.LinkedTo = sub.ID
			return nil
		}); err != nil {
			return nil, err
		}
		r.log.Info("email linked to chat", "subscriber", sub.ID, "chat_id", chat.ChatID)
	}
	if err := r.st.Redis.Del(ctx, r.pendingKey(sub.ID)).Err(); err != nil {
		r.log.Warn("other pending confirmations not dropped; they expire on their own", "subscriber", sub.ID, "err", err)
	}
	r.log.Info("reader confirmed", "subscriber", sub.ID)
	return sub, nil
}
