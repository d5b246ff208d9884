package mailer

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/herald-news/herald/subscriptions"
)

// retryState is "ATTEMPTS:UNIX-TIME-OF-NEXT-TRY".
func parseRetry(v string) (int, time.Time) {
	a, b, _ := strings.Cut(v, ":")
	n, _ := strconv.Atoi(a)
	at, _ := strconv.ParseInt(b, 10, 64)
	return n, time.Unix(at, 0)
}

// failed records a refused digest: a temporary failure is tried again
// after a growing pause; a permanent one counts as a hard bounce, and the
// items wait (the next try is bounceBackoff away) until the address is
// suspended.
func (m *Mailer) failed(ctx context.Context, sub *subscriptions.Subscriber, attempts int, cause error) {
	ctx = context.WithoutCancel(ctx)
	wait := bounceBackoff
	if IsTemporary(cause) {
		wait = min(retryFirst<<min(attempts, 10), retryMax)
	} else {
		m.bounce(ctx, sub, cause)
	}
	v := strconv.Itoa(attempts+1) + ":" + strconv.FormatInt(m.Now().Add(wait).Unix(), 10)
	m.st.Redis.Set(ctx, m.retryKey(sub.ID), v, 2*24*time.Hour)
	m.log.Info("digest will be tried again", "subscriber", sub.ID, "in", wait, "temporary", IsTemporary(cause), "err", cause)
}

func (m *Mailer) bounce(ctx context.Context, sub *subscriptions.Subscriber, cause error) {
	s, err := m.subs.Update(ctx, sub.ID, func(s *subscriptions.Subscriber) error {
		s.Bounces++
		if s.Bounces >= HardBounceLimit {
			s.Status = subscriptions.StatusSuspended
		}
		return nil
	})
	if err == nil && s.Status == subscriptions.StatusSuspended {
		m.log.Warn("address suspended after hard bounces", "subscriber", sub.ID, "err", cause)
	}
}
