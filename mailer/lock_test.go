package mailer_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/mailer"
	"github.com/herald-news/herald/subscriptions"
)

const wait = 10 * time.Second

// second is another process's mailer on the same Redis and SMTP server.
func (f *fixture) second(t *testing.T) *mailer.Mailer {
	tr, err := mailer.NewSMTP(f.smtp.URL(), "Herald <news@herald.test>")
	if err != nil {
		t.Fatal(err)
	}
	m := mailer.New(f.st, f.subs, tr, "https://herald.test", []byte("test-secret"), slog.New(slog.DiscardHandler))
	m.Now = f.clock.Now
	return m
}

type result struct {
	n   int
	err error
}

func sendAsync(m *mailer.Mailer) <-chan result {
	out := make(chan result, 1)
	go func() {
		n, err := m.SendDigests(context.Background(), false)
		out <- result{n, err}
	}()
	return out
}

func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("waited %v for %s", wait, what)
		panic("unreachable")
	}
}

// A send that outlives the lock's TTL keeps the lock, because its holder
// extends it: a second process finds the reader taken and sends nothing,
// and the reader gets one digest.
func TestDigestLockOutlivesSlowSend(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.reader(t, "slow@example.org", "instant", 0, "UTC", "belarus")
	f.publish(t, r.ID, "belarus", "Belarus news")
	f.clock.Add(2 * time.Minute)

	const ttl = 300 * time.Millisecond
	f.m.LockTTL = ttl
	extended := make(chan bool, 100)
	mailer.SetLockHooks(f.m, nil, func(_ string, held bool, err error) {
		if err == nil {
			extended <- held
		}
	})
	release := f.smtp.HoldNext()
	first := sendAsync(f.m)
	f.smtp.WaitUntil(wait, func() bool { return f.smtp.Holding() == 1 })
	// Four extensions, a third of the TTL apart, are more than one TTL:
	// without them the lock would have expired by now.
	for range 4 {
		if !receive(t, extended, "an extension of the lock") {
			t.Fatal("the lock was lost while its holder was sending")
		}
	}

	other := f.second(t)
	other.LockTTL = ttl
	if n, err := other.SendDigests(ctx, false); n != 0 || err != nil {
		t.Fatalf("second sender during the slow send: sent %d, %v; want 0, nil", n, err)
	}
	lockKey := subscriptions.Key(f.st, r.ID, "sending")
	if n, _ := f.st.Redis.Exists(ctx, lockKey).Result(); n != 1 {
		t.Fatal("the lock is gone while its holder is still sending")
	}

	release()
	if res := receive(t, first, "the slow send"); res.n != 1 || res.err != nil {
		t.Fatalf("slow send: sent %d, %v; want 1, nil", res.n, res.err)
	}
	if n, err := other.SendDigests(ctx, false); n != 0 || err != nil {
		t.Fatalf("second sender after the slow send: sent %d, %v; want 0, nil", n, err)
	}
	if got := len(f.smtp.MessagesTo("slow@example.org")); got != 1 {
		t.Fatalf("%d digests sent, want 1", got)
	}
	if n, _ := f.st.Redis.Exists(ctx, lockKey).Result(); n != 0 {
		t.Fatal("the holder did not release its lock")
	}
}

// A holder whose lock expired anyway (its process was paused, or cut off
// from Redis, for longer than the TTL) must not release or extend the
// lock the next process took, nor trim the items it took: its release
// would let a third process in, and a second trim would drop items that
// arrived meanwhile.
func TestDigestLockTakenOver(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.reader(t, "slow@example.org", "instant", 0, "UTC", "belarus")
	f.publish(t, r.ID, "belarus", "Belarus news")
	f.clock.Add(2 * time.Minute)

	ticks := make(chan time.Time)
	extended := make(chan bool, 10)
	mailer.SetLockHooks(f.m, ticks, func(_ string, held bool, err error) {
		if err == nil {
			extended <- held
		}
	})
	releaseFirst, releaseSecond := f.smtp.HoldNext(), f.smtp.HoldNext()
	first := sendAsync(f.m)
	f.smtp.WaitUntil(wait, func() bool { return f.smtp.Holding() == 1 })

	// The first lock expires, as its TTL makes it when nobody extends it.
	lockKey := subscriptions.Key(f.st, r.ID, "sending")
	if err := f.st.Redis.Del(ctx, lockKey).Err(); err != nil {
		t.Fatal(err)
	}
	other := f.second(t)
	second := sendAsync(other)
	f.smtp.WaitUntil(wait, func() bool { return f.smtp.Holding() == 2 })
	secondToken, err := f.st.Redis.Get(ctx, lockKey).Result()
	if err != nil {
		t.Fatalf("the second sender holds no lock: %v", err)
	}
	// News arrives while both sends are under way.
	f.publish(t, r.ID, "belarus", "More Belarus news")

	ticks <- time.Now()
	if receive(t, extended, "the first holder's extension") {
		t.Fatal("the first holder extended a lock it no longer holds")
	}
	releaseFirst()
	if res := receive(t, first, "the first send"); res.err != nil {
		t.Fatalf("first send: %v", res.err)
	}
	if got, err := f.st.Redis.Get(ctx, lockKey).Result(); err != nil || got != secondToken {
		t.Fatalf("after the first holder's release the lock is %q (%v), want the second holder's %q", got, err, secondToken)
	}
	if items, _ := delivery.Items(ctx, f.st, r.ID); len(items) != 2 {
		t.Fatalf("%d items left after the first holder finished, want 2: it must leave them to the second", len(items))
	}

	// Both emails went out: SMTP has no way to fence off a sender that
	// was cut off past its TTL mid-send. What the token keeps is the
	// second's lock and the items that arrived meanwhile.
	releaseSecond()
	if res := receive(t, second, "the second send"); res.n != 1 || res.err != nil {
		t.Fatalf("second send: sent %d, %v; want 1, nil", res.n, res.err)
	}
	items, _ := delivery.Items(ctx, f.st, r.ID)
	if len(items) != 1 {
		t.Fatalf("%d items left, want the one that arrived during the sends", len(items))
	}
	if n, _ := f.st.Redis.Exists(ctx, lockKey).Result(); n != 0 {
		t.Fatal("the second holder did not release its lock")
	}
}
