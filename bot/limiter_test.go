package bot

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/store/storetest"
)

// admit asks l until it admits a message to chat, waiting as long as it
// says, and returns the ticket once its slot has come.
func admit(l *Limiter, chat int64) (*Ticket, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		tk, wait, err := l.Admit(ctx, chat)
		if err != nil {
			return nil, fmt.Errorf("admit to %d: %w", chat, err)
		}
		if tk != nil {
			if !tk.Wait(ctx) {
				return nil, fmt.Errorf("wait for the slot of a message to %d: %w", chat, ctx.Err())
			}
			return tk, nil
		}
		if !sleep(ctx, wait) {
			return nil, fmt.Errorf("admit to %d: %w", chat, ctx.Err())
		}
	}
}

// admitNow is admit for the test's own goroutine.
func admitNow(t *testing.T, l *Limiter, chat int64) *Ticket {
	t.Helper()
	tk, err := admit(l, chat)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// finishTicket records that a ticket's send came back now. (The one
// place these tests call Finish.)
func finishTicket(l *Limiter, tk *Ticket, hold time.Duration) error {
	return l.Finish(context.Background(), tk, hold)
}

// finish is finishTicket for the test's own goroutine.
func finish(t *testing.T, l *Limiter, tk *Ticket, hold time.Duration) {
	t.Helper()
	if err := finishTicket(l, tk, hold); err != nil {
		t.Fatalf("finish: %v", err)
	}
}

// chatValue returns a chat's value in Redis: its next free time (ms), or
// minus the end of the lease of a message on its way; 0 when unset.
func chatValue(t *testing.T, st *store.Store, chat int64) int64 {
	t.Helper()
	v, err := st.Redis.Get(context.Background(), ChatKey(st, chat)).Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		t.Fatal(err)
	}
	return v
}

// windowScores returns the scores (µs) of the messages counted against the
// bot-wide rate.
func windowScores(t *testing.T, st *store.Store) []float64 {
	t.Helper()
	zs, err := st.Redis.ZRangeWithScores(context.Background(), WindowKey(st), 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, len(zs))
	for i, z := range zs {
		out[i] = z.Score
	}
	return out
}

// redisNow is Redis's clock, which the limiter's scripts go by, in µs.
func redisNow(t *testing.T, st *store.Store) float64 {
	t.Helper()
	now, err := st.Redis.Time(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return float64(now.UnixMicro())
}

// Several processes, each with several workers, share one bot-wide rate:
// however the sends fall, no second holds more of them than the rate.
func TestLimiterKeepsTheRateAcrossProcesses(t *testing.T) {
	st := storetest.New(t)
	const (
		rate       = 30
		processes  = 3
		workers    = 3
		perWorker  = 8
		totalSends = processes * workers * perWorker
	)
	var mu sync.Mutex
	var starts []time.Time
	var wg sync.WaitGroup
	for p := range processes {
		l := NewLimiter(st, rate)
		// The schedule at the full rate leaves the cap to the window.
		l.Pace = 1
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWorker {
					// A chat of its own for every message: only the
					// bot-wide rate holds them back.
					chat := int64(1 + p*10000 + w*100 + i)
					tk, err := admit(l, chat)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					starts = append(starts, time.Now())
					mu.Unlock()
					// Sends take different times, as on the network.
					time.Sleep(time.Duration(i%3) * 5 * time.Millisecond)
					if err := finishTicket(l, tk, 0); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	if len(starts) != totalSends {
		t.Fatalf("%d sends, want %d", len(starts), totalSends)
	}
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	busiest := 0
	for i := range starts {
		n := 0
		for j := i; j < len(starts) && starts[j].Sub(starts[i]) < time.Second; j++ {
			n++
		}
		if n > busiest {
			busiest = n
		}
	}
	if busiest > rate {
		t.Fatalf("%d sends within one second, rate %d", busiest, rate)
	}
	t.Logf("busiest second: %d sends of %d allowed", busiest, rate)
}

// The next message to a chat starts no sooner than the chat's gap after
// the previous one came back: 1 s-ish to a private chat, 3 s-ish to a
// group (shortened here).
func TestLimiterSpacesMessagesToOneChat(t *testing.T) {
	st := storetest.New(t)
	l := NewLimiter(st, 100)
	l.PerChat, l.PerGroup = 150*time.Millisecond, 300*time.Millisecond
	for _, tc := range []struct {
		chat int64
		gap  time.Duration
	}{{42, l.PerChat}, {-42, l.PerGroup}} {
		chat, gap := tc.chat, tc.gap
		t.Run(strconv.FormatInt(chat, 10), func(t *testing.T) {
			var lastEnd time.Time
			for i := range 3 {
				tk := admitNow(t, l, chat)
				start := time.Now()
				// Redis counts in milliseconds: allow for the rounding.
				if i > 0 && start.Sub(lastEnd) < gap-5*time.Millisecond {
					t.Fatalf("message %d started %v after the previous came back, gap %v", i, start.Sub(lastEnd), gap)
				}
				lastEnd = time.Now()
				finish(t, l, tk, 0)
			}
		})
	}
}

// While a message is on its way to a chat, no process admits another to
// it; once it came back, the chat is free after its gap. Meanwhile the
// message counts against the bot-wide rate from its slot to its lease's
// end, and from its finish to its send's end.
//
// The checks go by Redis's clock, read around each step, and by what the
// scripts wrote, never by how long the test's own steps took: under load
// the test may stall between any two calls.
func TestLimiterHoldsAChatWhileAMessageIsOnItsWay(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	a, b := NewLimiter(st, 100), NewLimiter(st, 100)
	a.PerChat, b.PerChat = 100*time.Millisecond, 100*time.Millisecond
	const chat = 7
	lease := float64(a.Lease.Microseconds())

	beforeAdmit := redisNow(t, st)
	tk := admitNow(t, a, chat)
	if v := chatValue(t, st, chat); v >= 0 {
		t.Fatalf("chat value %d while a message is on its way, want the negated lease end", v)
	}
	if got, wait, err := b.Admit(ctx, chat); err != nil || got != nil || wait <= 0 {
		t.Fatalf("another process admitted %v (wait %v, %v) while a message was on its way", got, wait, err)
	}
	// Its slot is no sooner than the admission, on Redis's clock.
	if s := windowScores(t, st); len(s) != 1 || s[0] < float64(tk.redis)+lease {
		t.Fatalf("window %v while on its way (admitted at %d µs), want one message counted to its lease's end", s, tk.redis)
	}

	beforeFinish := redisNow(t, st)
	finish(t, a, tk, 0)
	afterFinish := redisNow(t, st)
	// The end is Redis's clock at the admission plus the time since the
	// admitting call left: late by at most that call's way to Redis, which
	// is less than the time from beforeAdmit to the admission.
	s := windowScores(t, st)
	if len(s) != 1 || s[0] < beforeFinish || s[0] > afterFinish+float64(tk.redis)-beforeAdmit {
		t.Fatalf("window %v after a finish between %.0f and %.0f µs, want one message counted from its end", s, beforeFinish, afterFinish)
	}
	// The chat is free a gap after the end (ms). Its key lasts until then,
	// so it may be gone already if the test was slow, but only then.
	free := int64(math.Floor(s[0]/1000)) + a.PerChat.Milliseconds()
	if v := chatValue(t, st, chat); v != free && (v != 0 || redisNow(t, st) < float64(free)*1000) {
		t.Fatalf("chat value %d after the send came back, want its next free time %d", v, free)
	}

	next := admitNow(t, b, chat)
	slot, err := st.Redis.ZScore(ctx, WindowKey(st), next.member).Result()
	if err != nil {
		t.Fatal(err)
	}
	if slot -= float64(b.Lease.Microseconds()); slot < float64(free)*1000 {
		t.Fatalf("the next message's slot is %.0f µs, before the chat was free at %d ms", slot, free)
	}
	finish(t, b, next, 0)
}

// A message admitted by a process that died is never finished: its chat is
// free again once the lease ends, not never.
func TestLimiterLeaseFreesTheChatOfADeadProcess(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	dead, live := NewLimiter(st, 100), NewLimiter(st, 100)
	dead.Lease = 300 * time.Millisecond
	const chat = 8

	admitted := time.Now()
	admitNow(t, dead, chat)
	if got, _, err := live.Admit(ctx, chat); err != nil || got != nil {
		t.Fatalf("admitted %v, %v during the dead process's lease", got, err)
	}
	admitNow(t, live, chat)
	if d := time.Since(admitted); d < dead.Lease-5*time.Millisecond {
		t.Fatalf("the chat was free %v after a lease of %v began", d, dead.Lease)
	}
}

// A ticket given back unsent frees its chat and its place in the window
// at once.
func TestLimiterCancelFreesTheChat(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	l := NewLimiter(st, 100)
	const chat = 9

	l.Cancel(admitNow(t, l, chat))
	tk, wait, err := l.Admit(ctx, chat)
	if err != nil || tk == nil {
		t.Fatalf("after a cancel: ticket %v, wait %v, %v; want a ticket", tk, wait, err)
	}
	if s := windowScores(t, st); len(s) != 1 {
		t.Fatalf("window %v, want only the new message", s)
	}
	l.Cancel(tk)
}

// Finishing with a hold (Telegram's retry_after) keeps the chat waiting
// that long, beyond its usual gap.
func TestLimiterFinishHoldsTheChat(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	l := NewLimiter(st, 100)
	l.PerChat = 100 * time.Millisecond
	const chat, hold = 10, 5 * time.Second

	finish(t, l, admitNow(t, l, chat), hold)
	tk, wait, err := l.Admit(ctx, chat)
	if err != nil || tk != nil || wait < hold/2 {
		t.Fatalf("after a hold of %v: ticket %v, wait %v, %v", hold, tk, wait, err)
	}
	if v := chatValue(t, st, chat); float64(v)*1000 < redisNow(t, st)+float64((hold/2).Microseconds()) {
		t.Fatalf("chat free at %d ms, want about %v from now", v, hold)
	}
	// Other chats go on.
	finish(t, l, admitNow(t, l, chat+1), 0)
}
