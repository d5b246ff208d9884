package mailer

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/subscriptions"
)

// RoundError is SendDigests' error when some digests of a round were not
// sent (each is tried again later, as its failure decides).
type RoundError struct {
	Failed int
	First  error // the first failure
}

func (e *RoundError) Error() string {
	return fmt.Sprintf("%d digests not sent; the first: %v", e.Failed, e.First)
}

func (e *RoundError) Unwrap() error { return e.First }

// SendDigests sends every digest that is due (with force, every one with
// anything pending) and returns how many were sent; when some failed, the
// error is a *RoundError that counts them. Connections workers share the
// readers, each keeping one SMTP connection for all it sends.
func (m *Mailer) SendDigests(ctx context.Context, force bool) (int, error) {
	ids, err := delivery.Pending(ctx, m.st)
	if err != nil {
		return 0, fmt.Errorf("list pending digests: %w", err)
	}
	sort.Strings(ids)
	m.limit.setRate(m.Rate)
	var (
		sent     atomic.Int64
		mu       sync.Mutex
		failed   int
		firstErr error
		wg       sync.WaitGroup
	)
	jobs := make(chan string)
	for range max(1, min(m.Connections, len(ids))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{m: m}
			defer w.close()
			for id := range jobs {
				ok, err := w.sendOne(ctx, id, force)
				if err != nil {
					m.log.Warn("digest not sent", "subscriber", id, "err", err)
					mu.Lock()
					failed++
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
				if ok {
					sent.Add(1)
				}
			}
		}()
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		jobs <- id
	}
	close(jobs)
	wg.Wait()
	if ctx.Err() != nil && firstErr == nil {
		return int(sent.Load()), ctx.Err()
	}
	if failed > 0 {
		return int(sent.Load()), &RoundError{Failed: failed, First: firstErr}
	}
	return int(sent.Load()), nil
}

// worker is one sending connection, opened when it first has something
// to send.
type worker struct {
	m    *Mailer
	conn Conn
}

func (w *worker) close() {
	if w.conn != nil {
		_ = w.conn.Close()
	}
}

func (w *worker) send(ctx context.Context, msg *Message) error {
	if err := w.m.limit.wait(ctx); err != nil {
		return err
	}
	if w.conn == nil {
		c, err := open(ctx, w.m.tr)
		if err != nil {
			return err
		}
		w.conn = c
	}
	return w.conn.Send(ctx, msg)
}

func (w *worker) sendOne(ctx context.Context, id string, force bool) (bool, error) {
	m := w.m
	sub, err := m.subs.Get(ctx, id)
	if errors.Is(err, subscriptions.ErrNotFound) {
		return false, delivery.Done(ctx, m.st, id, maxDigestItems*100)
	}
	if err != nil {
		return false, err
	}
	now := m.Now()
	switch {
	case sub.Kind != subscriptions.KindEmail:
		return false, nil
	case sub.Status == subscriptions.StatusPending:
		return false, nil
	case !sub.Active(), now.Before(sub.PausedUntil):
		// Unsubscribed, suspended or paused: what matched meanwhile is not
		// kept for later, or the first digest after a pause would be a flood.
		return false, delivery.Done(ctx, m.st, id, maxDigestItems*100)
	}
	var lastCmd, retryCmd *redis.StringCmd
	_, err = m.st.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		lastCmd, retryCmd = p.Get(ctx, m.lastKey(id)), p.Get(ctx, m.retryKey(id))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, err
	}
	var last time.Time
	if v, err := lastCmd.Int64(); err == nil {
		last = time.Unix(v, 0)
	}
	attempts, retryAt := parseRetry(retryCmd.Val())
	if !force && (now.Before(retryAt) || !Due(sub, last, now)) {
		return false, nil
	}
	// One sender per reader across every process. The lock is extended
	// while this process works on the digest, so it outlives only a crash,
	// by its TTL, after which at most this one email repeats.
	lk := newLock(m.st.Redis, m.lockKey(id), cmp.Or(m.LockTTL, DefaultLockTTL))
	var acquired *redis.BoolCmd
	var itemsCmd *redis.StringSliceCmd
	_, err = m.st.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		acquired = lk.acquire(ctx, p)
		itemsCmd = p.LRange(ctx, delivery.DigestKey(m.st, id), 0, maxDigestItems-1)
		return nil
	})
	if err != nil {
		return false, err
	}
	if !acquired.Val() {
		return false, nil
	}
	var onExtend func(bool, error)
	if m.onExtend != nil {
		onExtend = func(held bool, err error) { m.onExtend(id, held, err) }
	}
	// Extended even after ctx ends: a send under way finishes whatever ctx
	// says, and the lock must cover it until then.
	lk.keep(context.WithoutCancel(ctx), m.lockTicks, onExtend)
	defer func() {
		if err := lk.release(ctx); err != nil {
			m.log.Warn("send lock not released", "subscriber", id, "err", err)
		}
	}()
	items := make([]delivery.Item, 0, len(itemsCmd.Val()))
	for _, r := range itemsCmd.Val() {
		var it delivery.Item
		if json.Unmarshal([]byte(r), &it) == nil {
			items = append(items, it)
		}
	}
	taken := len(itemsCmd.Val())
	if taken == 0 {
		return false, delivery.Done(ctx, m.st, id, 0)
	}
	if !force && (sub.Frequency == "instant" || sub.Frequency == "") && now.Sub(items[0].At) < InstantWindow {
		return false, nil
	}
	if synced, err := m.subs.SyncLinked(ctx, sub); err != nil {
		m.log.Warn("linked topics not synchronised", "subscriber", id, "err", err)
	} else {
		sub = synced
	}
	msg, n, err := m.digest(ctx, sub, items)
	if err != nil {
		return false, err
	}
	if msg != nil {
		msg.ListID = m.listID()
	}
	if n > 0 {
		if err := w.send(ctx, msg); err != nil {
			m.failed(ctx, sub, attempts, err)
			return false, fmt.Errorf("send digest: %w", err)
		}
		if m.Sent != nil {
			m.Sent(msg)
		}
		m.log.Info("digest sent", "subscriber", id, "articles", n)
	}
	// Only now, with the server's acceptance, do the items leave Redis,
	// and only by the lock's holder: a process whose lock expired during
	// a stalled send leaves them to the one that took it over, which sent
	// (or sends) the same items; trimming them twice would drop newer ones.
	done := context.WithoutCancel(ctx)
	if held, err := lk.extend(done); err == nil && !held {
		m.log.Warn("send lock lost during the send; its items are left to the new holder", "subscriber", id)
		return n > 0, nil
	}
	_, err = m.st.Redis.TxPipelined(done, func(p redis.Pipeliner) error {
		if n > 0 {
			p.Set(done, m.lastKey(id), now.Unix(), 0)
		}
		p.Del(done, m.retryKey(id))
		return nil
	})
	if err != nil {
		return n > 0, err
	}
	// The relay's acceptance does not reset the reader's bounces: a
	// smarthost accepts mail for dead addresses too and bounces it later
	// by DSN (see Record).
	return n > 0, delivery.Done(done, m.st, id, taken)
}
