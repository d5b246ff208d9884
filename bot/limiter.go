package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
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
// A message is admitted for one chat at a time, by one script that checks
// the chat is free, gives the message a send slot on the bot-wide GCRA
// schedule (paced a little under the rate) and counts it in a sliding
// window of the messages that may reach Telegram within one second of that
// slot. A message stays counted from its slot until one second after its
// send came back, so however late or jittery the sends are, no second on
// Telegram's side can hold more than the rate. Finishing a message records
// when its send came back and sets the chat's next free time from it. The
// limiter knows nothing of the alert queue: the sender acknowledges what
// it sent after the finish.
//
// Inside a process the calls are combined: one goroutine at a time talks
// to Redis for every admission and finish waiting, so at 1,000 messages a
// second a message costs a fraction of a round trip, and slots are only
// handed to messages that are ready to go.
type Limiter struct {
	rdb  redis.UniversalClient
	st   *store.Store
	rate float64

	// Pace is the share of the rate the schedule aims at; the window check
	// catches what jitter bunches, so it can sit close to 1.
	Pace float64
	// PerChat and PerGroup are the least times from the end of one send to
	// the start of the next to one private chat and to one group or channel
	// (Telegram: 1 s, and 20 a minute); the end of a send is after its
	// arrival, so these only need a small margin for the clock.
	PerChat  time.Duration
	PerGroup time.Duration
	// Lease bounds how long an admitted message that was never finished
	// (its process died) keeps its chat and its place in the window.
	Lease time.Duration

	token string
	seq   atomic.Uint64

	mu       sync.Mutex
	admits   []*admitReq
	finishes []*finishReq
	leading  bool
	wake     chan struct{}
}

// NewLimiter returns a Limiter of rate messages a second for the whole bot:
// Telegram's own limit, which no sliding second ever exceeds.
func NewLimiter(st *store.Store, rate float64) *Limiter {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &Limiter{
		rdb: st.Redis, st: st, rate: max(rate, 0.01), Pace: 0.99,
		PerChat: 1050 * time.Millisecond, PerGroup: 3050 * time.Millisecond,
		Lease: 10 * time.Second,
		token: hex.EncodeToString(b[:]), wake: make(chan struct{}, 1),
	}
}

// RateKey holds the bot-wide schedule (GCRA theoretical arrival time, µs).
func RateKey(st *store.Store) string { return st.Key("{tg}", "rate") }

// WindowKey is the sorted set of messages that count against the bot-wide
// rate: member a message, score when its send came back (µs), or its slot
// plus the lease while it is on its way.
func WindowKey(st *store.Store) string { return st.Key("{tg}", "window") }

// ChatKey holds the earliest time (ms) the next message may go to a chat,
// or, negated, the end of the lease of a message on its way to it.
func ChatKey(st *store.Store, chatID int64) string {
	return st.Key("{tg}", "chat", strconv.FormatInt(chatID, 10))
}

// Ticket is an admitted message: it may leave at At, and must be finished.
type Ticket struct {
	At     time.Time // local time of the send slot
	chat   int64
	member string
	issued time.Time // local time the admitting call left
	redis  int64     // Redis's clock (µs) when it admitted
}

// Wait sleeps until the ticket's slot, and reports whether ctx is live.
func (t *Ticket) Wait(ctx context.Context) bool { return sleep(ctx, time.Until(t.At)) }

type admitReq struct {
	chat      int64
	done      chan admitRes // buffered: the leader never blocks on it
	cancelled bool          // under Limiter.mu
}

type admitRes struct {
	tk   *Ticket
	wait time.Duration
	err  error
}

type finishReq struct {
	tk   *Ticket
	end  int64 // when the send came back on Redis's clock (µs); -1: never sent
	hold time.Duration
	done chan error // buffered
}

// stepScript finishes messages, then admits messages, in one call.
//
// KEYS: rate, window, then one chat key per finish and per admission.
// ARGV: interval µs, horizon µs, rate cap, lease µs, #finishes,
// #admissions; per finish: member, end µs (-1: never sent), chat gap ms,
// hold ms; per admission: member, chat gap ms.
// A chat with a message on its way holds minus the lease's end (ms): it is
// free no sooner than a gap after that message comes back.
//
// It returns Redis's clock (µs), then per admission a pair: 1 and µs to
// its slot; -1 and µs until the chat is free; 0 and µs to wait for room on
// the bot-wide schedule.
var stepScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nowms = math.floor(now / 1000)
local interval, horizon = tonumber(ARGV[1]), tonumber(ARGV[2])
local cap, lease = tonumber(ARGV[3]), tonumber(ARGV[4])
local nfin, nadm = tonumber(ARGV[5]), tonumber(ARGV[6])
local a, k = 7, 3
for i = 1, nfin do
  local member, fend = ARGV[a], tonumber(ARGV[a + 1])
  local gap, hold = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  a = a + 4
  local nxt = nowms + hold
  if fend < 0 then
    redis.call('ZREM', KEYS[2], member)
  else
    redis.call('ZADD', KEYS[2], string.format('%.0f', fend), member)
    nxt = math.max(nxt, math.floor(fend / 1000) + gap)
  end
  if nxt > nowms then
    redis.call('SET', KEYS[k], string.format('%.0f', nxt), 'PX', nxt - nowms)
  else
    redis.call('DEL', KEYS[k])
  end
  k = k + 1
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.0f', now - 1000000))
local out = {now}
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local taken, stop = 0, nil
for i = 1, nadm do
  local member, gap = ARGV[a], tonumber(ARGV[a + 1])
  a = a + 2
  if not stop and tat - now > horizon then
    stop = tat - horizon - now
  end
  if stop then
    out[#out + 1] = 0
    out[#out + 1] = stop
  else
    local nxt = tonumber(redis.call('GET', KEYS[k]) or '0') * 1000
    if nxt < 0 then
      out[#out + 1] = -1
      out[#out + 1] = gap * 1000
    elseif nxt > tat then
      out[#out + 1] = -1
      out[#out + 1] = nxt - now
    else
      local from = '(' .. string.format('%.0f', tat - 1000000)
      if redis.call('ZCOUNT', KEYS[2], from, '+inf') >= cap then
        local first = redis.call('ZRANGEBYSCORE', KEYS[2], from, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
        local s0 = tonumber(first[2])
        if s0 <= now then stop = s0 + 1000000 - tat + 1 else stop = 2000 end
        out[#out + 1] = 0
        out[#out + 1] = stop
      else
        local till = tat + lease
        redis.call('ZADD', KEYS[2], string.format('%.0f', till), member)
        redis.call('SET', KEYS[k], string.format('%.0f', -math.floor(till / 1000)), 'PX', math.ceil((till - now) / 1000))
        out[#out + 1] = 1
        out[#out + 1] = tat - now
        tat = tat + interval
        taken = taken + 1
      end
    end
  end
  k = k + 1
end
if taken > 0 then
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
end
redis.call('PEXPIRE', KEYS[2], math.ceil(lease / 1000) + 2000)
return out
`)

// Admit asks to send the next message to a chat. It returns a ticket when
// the message may go (at the ticket's time), or how long until the chat is
// free. It waits, without a ticket, while the bot-wide rate is used up.
func (l *Limiter) Admit(ctx context.Context, chatID int64) (*Ticket, time.Duration, error) {
	r := &admitReq{chat: chatID, done: make(chan admitRes, 1)}
	l.mu.Lock()
	l.admits = append(l.admits, r)
	l.leadLocked()
	l.mu.Unlock()
	select {
	case res := <-r.done:
		return res.tk, res.wait, res.err
	case <-ctx.Done():
		l.mu.Lock()
		r.cancelled = true
		l.mu.Unlock()
		select {
		case res := <-r.done:
			if res.tk != nil {
				l.Cancel(res.tk)
			}
		default:
		}
		return nil, 0, ctx.Err()
	}
}

// Finish records that the ticket's send came back now (successful or not:
// a failed send may still have reached Telegram) and keeps the chat
// waiting at least hold (retry_after, a back-off). It finishes even when
// ctx has ended.
func (l *Limiter) Finish(ctx context.Context, tk *Ticket, hold time.Duration) error {
	end := tk.redis + time.Since(tk.issued).Microseconds()
	r := &finishReq{tk: tk, end: end, hold: hold, done: make(chan error, 1)}
	l.enqueueFinish(r)
	return <-r.done
}

// Cancel gives back a ticket whose message was never sent.
func (l *Limiter) Cancel(tk *Ticket) {
	l.enqueueFinish(&finishReq{tk: tk, end: -1, done: make(chan error, 1)})
}

func (l *Limiter) enqueueFinish(r *finishReq) {
	l.mu.Lock()
	l.finishes = append(l.finishes, r)
	l.leadLocked()
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// leadLocked starts the goroutine that talks to Redis, unless it runs.
func (l *Limiter) leadLocked() {
	if !l.leading {
		l.leading = true
		go l.lead()
	}
}

// Most requests in one script call: bounds the call's time in Redis.
const (
	maxAdmits   = 64
	maxFinishes = 256
)

// lead serves the waiting admissions and finishes in combined calls until
// none are left. While the bot-wide rate is used up it holds admissions
// back but keeps serving finishes, which free the chats and the window.
func (l *Limiter) lead() {
	var resume time.Time
	for {
		l.mu.Lock()
		if len(l.admits) == 0 && len(l.finishes) == 0 {
			l.leading = false
			l.mu.Unlock()
			return
		}
		fin := l.finishes[:min(len(l.finishes), maxFinishes)]
		l.finishes = l.finishes[len(fin):]
		var adm []*admitReq
		if !time.Now().Before(resume) {
			n := 0
			for n < len(l.admits) && len(adm) < maxAdmits {
				if !l.admits[n].cancelled {
					adm = append(adm, l.admits[n])
				}
				n++
			}
			l.admits = l.admits[n:]
		}
		l.mu.Unlock()
		if len(fin) == 0 && len(adm) == 0 {
			t := time.NewTimer(time.Until(resume))
			select {
			case <-t.C:
			case <-l.wake:
			}
			t.Stop()
			continue
		}
		if wait := l.step(fin, adm); wait > 0 {
			resume = time.Now().Add(wait)
		}
	}
}

// step runs one stepScript call and hands out its results; it returns how
// long admissions should wait for room, when they were refused it.
func (l *Limiter) step(fin []*finishReq, adm []*admitReq) time.Duration {
	pace := l.rate * min(max(l.Pace, 0.5), 1)
	interval := time.Duration(float64(time.Second) / pace)
	// The horizon is how far ahead slots go to messages that then sleep in
	// their workers: short, so most workers keep preparing messages.
	horizon := max(25*time.Millisecond, 3*interval)
	capacity := max(1, int64(math.Floor(l.rate)))
	keys := []string{RateKey(l.st), WindowKey(l.st)}
	args := []any{interval.Microseconds(), horizon.Microseconds(), capacity, l.Lease.Microseconds(), len(fin), len(adm)}
	for _, f := range fin {
		keys = append(keys, ChatKey(l.st, f.tk.chat))
		args = append(args, f.tk.member, f.end, l.gap(f.tk.chat).Milliseconds(), int64(math.Ceil(float64(f.hold)/float64(time.Millisecond))))
	}
	members := make([]string, len(adm))
	for i, r := range adm {
		members[i] = l.token + ":" + strconv.FormatUint(l.seq.Add(1), 36)
		keys = append(keys, ChatKey(l.st, r.chat))
		args = append(args, members[i], l.gap(r.chat).Milliseconds())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	issued := time.Now()
	res, err := stepScript.Run(ctx, l.rdb, keys, args...).Int64Slice()
	back := time.Now()
	cancel()
	if err == nil && len(res) != 1+2*len(adm) {
		err = errors.New("unexpected reply")
	}
	if err != nil {
		err = fmt.Errorf("rate limiter: %w", err)
	}
	for _, f := range fin {
		f.done <- err
	}
	if err != nil {
		l.mu.Lock()
		for _, r := range adm {
			r.done <- admitRes{err: err}
		}
		l.mu.Unlock()
		return 50 * time.Millisecond
	}
	var retry []*admitReq
	var wait time.Duration
	l.mu.Lock()
	for i, r := range adm {
		status, d := res[1+2*i], time.Duration(res[2+2*i])*time.Microsecond
		switch {
		case status == 0:
			retry = append(retry, r)
			wait = max(wait, d)
		case r.cancelled && status == 1:
			l.finishes = append(l.finishes, &finishReq{tk: &Ticket{chat: r.chat, member: members[i]}, end: -1, done: make(chan error, 1)})
		case status == 1:
			r.done <- admitRes{tk: &Ticket{At: back.Add(d), chat: r.chat, member: members[i], issued: issued, redis: res[0]}}
		default:
			r.done <- admitRes{wait: max(d, time.Millisecond)}
		}
	}
	// Refused ones keep their turn, ahead of those that came since.
	l.admits = append(retry, l.admits...)
	l.mu.Unlock()
	if len(retry) == 0 {
		return 0
	}
	// Waiting a quarter of the horizon lets a batch through per call.
	return max(wait, horizon/4, time.Millisecond)
}

// gap is the least time between two messages to a chat.
func (l *Limiter) gap(chatID int64) time.Duration {
	if chatID < 0 {
		return l.PerGroup
	}
	return l.PerChat
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
