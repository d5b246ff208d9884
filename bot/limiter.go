package bot

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/store"
)

// Limiter keeps every sender process within Telegram's limits: a bot-wide
// rate, one message a second to a chat and twenty a minute to a group, and
// the retry_after Telegram asks of a chat. Its state lives in Redis under
// the {tg} hash tag, so any number of processes share one budget; all times
// are Redis's own clock (TIME), so the processes' clocks do not matter.
//
// The bot-wide rate is a GCRA schedule: Redis keeps the theoretical arrival
// time of the next message, and a process reserves a batch of evenly spaced
// send slots in one script call, then hands them out locally at their
// times. One call per batch keeps Redis off the hot path at 1,000 msgs/s.
type Limiter struct {
	rdb  redis.UniversalClient
	st   *store.Store
	rate float64

	// PerChat and PerGroup are the least times between two messages to one
	// private chat and to one group or channel; they carry a margin over
	// Telegram's 1 s and 3 s (20 a minute) for network jitter, because
	// Telegram measures when a message arrives, not when it was booked.
	PerChat  time.Duration
	PerGroup time.Duration

	mu      sync.Mutex
	slots   []time.Time // reserved send times, earliest first
	waiting atomic.Int64
}

// NewLimiter returns a Limiter of rate messages a second for the whole bot.
func NewLimiter(st *store.Store, rate float64) *Limiter {
	return &Limiter{
		rdb: st.Redis, st: st, rate: max(rate, 0.01),
		PerChat: 1100 * time.Millisecond, PerGroup: 3100 * time.Millisecond,
	}
}

// RateKey holds the bot-wide schedule (GCRA theoretical arrival time, µs).
func RateKey(st *store.Store) string { return st.Key("{tg}", "rate") }

// ChatKey holds the earliest time (ms) the next message may go to a chat.
func ChatKey(st *store.Store, chatID int64) string {
	return st.Key("{tg}", "chat", strconv.FormatInt(chatID, 10))
}

// reserveScript reserves up to ARGV[2] slots spaced ARGV[1] µs apart, no
// further ahead than ARGV[3] µs, and returns {granted, µs from now to the
// first slot}; with nothing granted the second value is how long to wait.
var reserveScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local want = tonumber(ARGV[2])
local horizon = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local room = math.floor((now + horizon - tat) / interval)
if room <= 0 then
  return {0, tat - horizon - now + interval}
end
local n = math.min(want, room)
redis.call('SET', KEYS[1], string.format('%.0f', tat + n * interval), 'PX', math.ceil((tat + n * interval - now) / 1000) + 1000)
return {n, tat - now}
`)

// bookScript books the next message to a chat when the chat is free and
// returns 0, or returns the milliseconds to wait.
var bookScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
if nxt > now then return nxt - now end
local gap = tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.0f', now + gap), 'PX', gap)
return 0
`)

// holdScript pushes a chat's next allowed time to at least now + ARGV[1] ms.
var holdScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local want = now + tonumber(ARGV[1])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
if nxt < want then
  redis.call('SET', KEYS[1], string.format('%.0f', want), 'PX', tonumber(ARGV[1]))
end
return 0
`)

// Take waits for a bot-wide send slot. Slots come in batches from Redis,
// sized by how many callers are waiting; each caller sleeps until its own
// slot's time, so a busy scheduler only makes a message later, never
// bunches it with the next.
func (l *Limiter) Take(ctx context.Context) error {
	l.waiting.Add(1)
	l.mu.Lock()
	l.waiting.Add(-1)
	for {
		now := time.Now()
		for len(l.slots) > 0 {
			at := l.slots[0]
			l.slots = l.slots[1:]
			// A slot left unused for long is let go: sending on it now
			// would bunch messages beyond the rate.
			if now.Sub(at) > 20*time.Millisecond {
				continue
			}
			l.mu.Unlock()
			sleep(ctx, time.Until(at))
			return ctx.Err()
		}
		if err := l.refill(ctx); err != nil {
			l.mu.Unlock()
			return err
		}
	}
}

// refill reserves a batch of slots for this caller and those queued behind
// it; l.mu is held.
func (l *Limiter) refill(ctx context.Context) error {
	interval := time.Duration(float64(time.Second) / l.rate)
	// A batch covers at most 50 ms of the rate, so one process never sits
	// on much of the shared budget; the horizon caps how far ahead all the
	// processes together may book.
	maxBatch := max(1, int64(l.rate*0.05))
	horizon := max(200*time.Millisecond, 2*interval)
	want := min(l.waiting.Load()+1, maxBatch)
	for backoff := 50 * time.Millisecond; ; backoff = min(2*backoff, 2*time.Second) {
		res, err := reserveScript.Run(ctx, l.rdb, []string{RateKey(l.st)},
			interval.Microseconds(), want, horizon.Microseconds()).Int64Slice()
		if err == nil && len(res) == 2 {
			n, offset := res[0], time.Duration(res[1])*time.Microsecond
			if n == 0 {
				if !sleep(ctx, max(offset, time.Millisecond)) {
					return ctx.Err()
				}
				continue
			}
			base := time.Now().Add(offset)
			for i := range n {
				l.slots = append(l.slots, base.Add(time.Duration(i)*interval))
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !sleep(ctx, backoff) {
			return ctx.Err()
		}
	}
}

// gap is the least time between two messages to a chat.
func (l *Limiter) gap(chatID int64) time.Duration {
	if chatID < 0 {
		return l.PerGroup
	}
	return l.PerChat
}

// Book reserves the next message to a chat if the chat is free now, and
// otherwise says how long to wait.
func (l *Limiter) Book(ctx context.Context, chatID int64) (time.Duration, error) {
	ms, err := bookScript.Run(ctx, l.rdb, []string{ChatKey(l.st, chatID)}, l.gap(chatID).Milliseconds()).Int64()
	if err != nil {
		return 0, fmt.Errorf("book chat %d: %w", chatID, err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Hold keeps every process from sending to a chat for d (Telegram's
// retry_after, or a back-off after a failure).
func (l *Limiter) Hold(ctx context.Context, chatID int64, d time.Duration) error {
	ms := int64(math.Ceil(float64(d) / float64(time.Millisecond)))
	if ms <= 0 {
		return nil
	}
	if err := holdScript.Run(ctx, l.rdb, []string{ChatKey(l.st, chatID)}, ms).Err(); err != nil {
		return fmt.Errorf("hold chat %d: %w", chatID, err)
	}
	return nil
}

// sleep waits d or until ctx ends, and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// TakeOne waits for one bot-wide slot without Run: command replies use it,
// so that they count against the same budget as alerts.
func (l *Limiter) TakeOne(ctx context.Context) error {
	interval := time.Duration(float64(time.Second) / l.rate)
	horizon := max(200*time.Millisecond, 2*interval)
	for {
		res, err := reserveScript.Run(ctx, l.rdb, []string{RateKey(l.st)}, interval.Microseconds(), 1, horizon.Microseconds()).Int64Slice()
		if err != nil || len(res) != 2 {
			return fmt.Errorf("reserve a send slot: %w", err)
		}
		d := time.Duration(res[1]) * time.Microsecond
		if res[0] == 1 {
			sleep(ctx, d)
			return ctx.Err()
		}
		if !sleep(ctx, max(d, time.Millisecond)) {
			return ctx.Err()
		}
	}
}
