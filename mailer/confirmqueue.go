package mailer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/subscriptions"
)

// The confirmation queue's pace.
const (
	// ConfirmRetryFor is how long a confirmation refused with a 4xx (a
	// greylisting server, a full mailbox) keeps being tried: as long as
	// mail servers keep a deferred message themselves, about two days.
	ConfirmRetryFor = 48 * time.Hour
	// ConfirmPoll is how often an email process looks for confirmations
	// queued by another process (its own wake it at once).
	ConfirmPoll = time.Second

	confirmLease = 5 * time.Minute
	confirmBatch = 20
)

// The queue: a sorted set of confirmation ids by the time of their next
// try (ms), and a hash of the confirmations themselves. Both carry the
// {mail} tag, so one transaction may touch both.
func (m *Mailer) confirmDueKey() string  { return m.st.Key("{mail}", "confirm", "due") }
func (m *Mailer) confirmJobsKey() string { return m.st.Key("{mail}", "confirm", "jobs") }

// claimScript takes up to ARGV[3] confirmations due by ARGV[1] and pushes
// their next try to ARGV[2]: a process that dies while sending one leaves
// it due again after the lease, so it is sent by another.
var claimScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return ids
`)

// QueueConfirmation queues c to be sent at once, and tried again after a
// temporary failure (see SendConfirmations).
func (m *Mailer) QueueConfirmation(ctx context.Context, c *Confirmation) error {
	var b [12]byte
	_, _ = rand.Read(b[:])
	c.ID, c.Queued, c.Attempts = hex.EncodeToString(b[:]), m.Now().UTC(), 0
	if err := m.schedule(ctx, c, m.Now()); err != nil {
		return fmt.Errorf("queue confirmation for %s: %w", c.Sub, err)
	}
	select {
	case m.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
	return nil
}

func (m *Mailer) schedule(ctx context.Context, c *Confirmation, at time.Time) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = m.st.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, m.confirmJobsKey(), c.ID, raw)
		p.ZAdd(ctx, m.confirmDueKey(), redis.Z{Score: float64(at.UnixMilli()), Member: c.ID})
		return nil
	})
	return err
}

func (m *Mailer) forget(ctx context.Context, id string) error {
	_, err := m.st.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, m.confirmDueKey(), id)
		p.HDel(ctx, m.confirmJobsKey(), id)
		return nil
	})
	return err
}

// PendingConfirmations is how many confirmations wait in the queue
// (due or backing off).
func (m *Mailer) PendingConfirmations(ctx context.Context) (int64, error) {
	return m.st.Redis.ZCard(ctx, m.confirmDueKey()).Result()
}

// RunConfirmations sends queued confirmations as they fall due until ctx
// ends. Run starts it; tests that drive digests by hand run it alone.
func (m *Mailer) RunConfirmations(ctx context.Context) error {
	t := time.NewTicker(ConfirmPoll)
	defer t.Stop()
	for {
		for {
			n, err := m.SendConfirmations(ctx)
			if err != nil && ctx.Err() == nil {
				m.log.Warn("confirmation round failed", "err", err)
			}
			// A full batch may have left more behind it.
			if n < confirmBatch || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-m.wake:
		}
	}
}

// SendConfirmations sends the confirmations that are due, over one
// connection, and returns how many it handled. A 4xx (or no answer) is
// tried again after a pause growing from a minute to an hour, for
// ConfirmRetryFor; a 5xx counts as a hard bounce of the reader, as a
// refused digest does, and the confirmation is dropped.
func (m *Mailer) SendConfirmations(ctx context.Context) (int, error) {
	now := m.Now()
	ids, err := claimScript.Run(ctx, m.st.Redis, []string{m.confirmDueKey()},
		now.UnixMilli(), now.Add(confirmLease).UnixMilli(), confirmBatch).StringSlice()
	if err != nil {
		return 0, fmt.Errorf("claim confirmations: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	raws, err := m.st.Redis.HMGet(ctx, m.confirmJobsKey(), ids...).Result()
	if err != nil {
		return 0, fmt.Errorf("read confirmations: %w", err)
	}
	m.limit.setRate(m.Rate)
	var conn Conn
	// A server that cannot be reached fails the rest of the batch at
	// once: dialling again for each would outlast the lease.
	var dialErr error
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	done := context.WithoutCancel(ctx)
	for i, id := range ids {
		s, _ := raws[i].(string)
		var c Confirmation
		if s == "" || json.Unmarshal([]byte(s), &c) != nil {
			_ = m.forget(done, id)
			continue
		}
		if ctx.Err() != nil {
			// Handed back for the next process (or this one restarted).
			_ = m.schedule(done, &c, now)
			continue
		}
		msg, err := m.confirmationMessage(&c)
		if err == nil {
			err = m.limit.wait(ctx)
		}
		if err == nil && conn == nil {
			if dialErr == nil {
				conn, dialErr = open(ctx, m.tr)
			}
			err = dialErr
		}
		if err == nil {
			err = conn.Send(ctx, msg)
		}
		if err != nil {
			m.confirmFailed(done, &c, err)
			continue
		}
		if err := m.forget(done, c.ID); err != nil {
			m.log.Warn("sent confirmation left in the queue", "subscriber", c.Sub, "err", err)
		}
		if m.Sent != nil {
			m.Sent(msg)
		}
		m.log.Info("confirmation sent", "subscriber", c.Sub, "kind", c.Kind, "attempts", c.Attempts+1)
	}
	return len(ids), nil
}

// confirmFailed decides what a refused confirmation becomes.
func (m *Mailer) confirmFailed(ctx context.Context, c *Confirmation, cause error) {
	now := m.Now()
	switch {
	case errors.Is(cause, ErrCompose) || errors.Is(cause, ErrHeader):
		m.log.Error("confirmation cannot be composed; dropped", "subscriber", c.Sub, "err", cause)
	case IsTemporary(cause):
		if now.Sub(c.Queued) >= ConfirmRetryFor {
			m.log.Warn("confirmation given up after temporary failures", "subscriber", c.Sub, "attempts", c.Attempts+1, "err", cause)
			break
		}
		if answered(cause) {
			m.note(Deferral, ViaSMTP)
		}
		wait := min(retryFirst<<min(c.Attempts, 10), retryMax)
		c.Attempts++
		if err := m.schedule(ctx, c, now.Add(wait)); err != nil {
			m.log.Warn("deferred confirmation not rescheduled; it is tried again after its lease", "subscriber", c.Sub, "err", err)
		}
		m.log.Info("confirmation deferred", "subscriber", c.Sub, "in", wait, "attempts", c.Attempts, "err", cause)
		return
	default:
		// The same record as a refused digest: three and the address is
		// suspended, so no further sign-up mails it.
		m.bounce(ctx, &subscriptions.Subscriber{ID: c.Sub}, cause)
		m.log.Warn("confirmation refused by the mail server", "subscriber", c.Sub, "err", cause)
	}
	if err := m.forget(ctx, c.ID); err != nil {
		m.log.Warn("dropped confirmation left in the queue", "subscriber", c.Sub, "err", err)
	}
}

// linkUntil is Link with an expiry time rather than a validity.
func (m *Mailer) linkUntil(path, purpose, subject string, expires time.Time) string {
	if expires.IsZero() {
		expires = m.Now().Add(ConfirmValidity)
	}
	return m.Link(path, purpose, subject, expires.Sub(m.Now()))
}
