package subscriptions

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
)

// NewReaderID returns a fresh id for an email reader.
func NewReaderID() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return "mail:" + hex.EncodeToString(b[:])
}

// SyncLinked copies a linked chat's topics onto its email reader when they
// drifted apart (a copy that Update could not make, a crash between the
// two writes), and forgets a link the chat no longer returns. It returns
// the reader as it now is, or as given with the error that kept it so.
func (s *Store) SyncLinked(ctx context.Context, sub *Subscriber) (*Subscriber, error) {
	if sub.LinkedTo == "" {
		return sub, nil
	}
	chat, err := s.Get(ctx, sub.LinkedTo)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return sub, err
	}
	linked := err == nil && chat.LinkedTo == sub.ID
	if linked && slices.Equal(chat.Topics, sub.Topics) {
		return sub, nil
	}
	out, err := s.Update(ctx, sub.ID, func(r *Subscriber) error {
		if linked {
			r.Topics = slices.Clone(chat.Topics)
		} else {
			r.LinkedTo = ""
		}
		return nil
	})
	if err != nil {
		return sub, err
	}
	return out, nil
}
