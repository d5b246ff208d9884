package bot

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

func TestLeaseOnlyItsOwnerRenewsOrReleases(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	key := pollerKey(st)
	a := &lease{rdb: st.Redis, key: key, owner: "a", ttl: time.Minute}
	b := &lease{rdb: st.Redis, key: key, owner: "b", ttl: time.Minute}
	mustLease := func(what string, got bool, err error, want bool) {
		t.Helper()
		if err != nil || got != want {
			t.Fatalf("%s = %v, %v; want %v", what, got, err, want)
		}
	}

	ok, err := a.take(ctx)
	mustLease("a takes the free lease", ok, err, true)
	ok, err = b.take(ctx)
	mustLease("b takes a's lease", ok, err, false)

	// Shorten the lease so that a renewal by b would show.
	if err := st.Redis.PExpire(ctx, key, 30*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	ok, err = b.renew(ctx)
	mustLease("b renews a's lease", ok, err, false)
	if ttl := st.Redis.PTTL(ctx, key).Val(); ttl > 30*time.Second {
		t.Fatalf("b's refused renewal extended the lease to %v", ttl)
	}
	ok, err = b.release(ctx)
	mustLease("b releases a's lease", ok, err, false)
	if v := st.Redis.Get(ctx, key).Val(); v != "a" {
		t.Fatalf("after b's refused release the lease is %q, want a's", v)
	}

	ok, err = a.renew(ctx)
	mustLease("a renews", ok, err, true)
	if ttl := st.Redis.PTTL(ctx, key).Val(); ttl <= 30*time.Second {
		t.Fatalf("a's renewal left the lease at %v", ttl)
	}
	ok, err = a.take(ctx)
	mustLease("a takes its own lease again", ok, err, true)
	ok, err = a.release(ctx)
	mustLease("a releases", ok, err, true)
	if n := st.Redis.Exists(ctx, key).Val(); n != 0 {
		t.Fatal("a's release left the lease")
	}
	ok, err = a.renew(ctx)
	mustLease("a renews a released lease", ok, err, false)
	ok, err = b.take(ctx)
	mustLease("b takes the released lease", ok, err, true)
}

// pollProc is one process's Bot polling the double.
type pollProc struct {
	bot  *Bot
	logs *logTap
	stop func() // cancels Run and waits for it to return
}

// startPoller runs a Bot as process consumer would, after configure.
func startPoller(t *testing.T, srv *telegramtest.Server, st *store.Store, consumer string, ttl time.Duration, configure ...func(*Bot)) *pollProc {
	t.Helper()
	tap, log := newLogTap(t)
	b, err := New(srv.Token, srv.URL, st, subscriptions.NewStore(st), nil, log)
	if err != nil {
		t.Fatal(err)
	}
	b.Consumer, b.leaseTTL = consumer, ttl
	for _, c := range configure {
		c(b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run of %s returned %v", consumer, err)
		}
	}
	t.Cleanup(stop)
	return &pollProc{bot: b, logs: tap, stop: stop}
}

// holder returns who holds the polling lease ("" when nobody does).
func holder(t *testing.T, st *store.Store) string {
	t.Helper()
	v, err := st.Redis.Get(context.Background(), pollerKey(st)).Result()
	if errors.Is(err, redis.Nil) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPollerHandsOverOnCleanShutdown(t *testing.T) {
	st := storetest.New(t)
	srv := telegramtest.New(t, telegramtest.WithLimits(telegramtest.NoLimits), telegramtest.WithMaxPollWait(time.Second))
	const me = 1001
	// A lease that would outlast the test: only a release lets b in.
	const ttl = 10 * time.Minute

	a := startPoller(t, srv, st, "a", ttl)
	srv.WaitUntil(10*time.Second, func() bool { return holder(t, st) == "a" && srv.Polling() })
	b := startPoller(t, srv, st, "b", ttl)
	srv.SendText(me, me, "/start")
	srv.WaitSentTo(10*time.Second, me, 1)

	a.stop()
	if h := holder(t, st); h == "a" {
		t.Fatal("a stopped without releasing the polling lease")
	}
	if got := a.logs.find("stopped polling Telegram"); len(got) != 1 || got[0].Attrs["released"] != "true" {
		t.Fatalf("a's stop: %v", got)
	}
	srv.WaitUntil(10*time.Second, func() bool { return holder(t, st) == "b" && srv.Polling() })
	srv.SendText(me, me, "/help")
	srv.WaitSentTo(10*time.Second, me, 2)
	if got := b.logs.find("took the Telegram polling lease"); len(got) != 1 {
		t.Fatalf("b polled %d times, want once: %v", len(got), got)
	}
}

func TestPollerStopsWhenItsLeaseIsTaken(t *testing.T) {
	st := storetest.New(t)
	srv := telegramtest.New(t, telegramtest.WithLimits(telegramtest.NoLimits), telegramtest.WithMaxPollWait(time.Second))
	ctx := context.Background()
	// Renewed every 200 ms, so the loss shows at once.
	a := startPoller(t, srv, st, "a", 600*time.Millisecond)
	srv.WaitUntil(10*time.Second, func() bool { return holder(t, st) == "a" && srv.Polling() })

	// The lease ran out while a stalled, and another process took it.
	if err := st.Redis.Set(ctx, pollerKey(st), "intruder", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	a.logs.wait(t, 10*time.Second, "lost the Telegram polling lease; polling stops", 1)
	stop := a.logs.wait(t, 10*time.Second, "stopped polling Telegram", 1)
	if stop[0].Attrs["released"] != "false" {
		t.Fatalf("a released a lease it no longer held: %v", stop)
	}
	// Polling ended with the loop (no getUpdates of a is left in flight),
	// and a left the intruder's lease alone.
	srv.WaitUntil(10*time.Second, func() bool { return !srv.Polling() })
	if h := holder(t, st); h != "intruder" {
		t.Fatalf("the lease is %q, want the intruder's", h)
	}

	// Once the intruder lets go, a polls again.
	polls := srv.Requests("getUpdates")
	st.Redis.Del(ctx, pollerKey(st))
	srv.WaitUntil(10*time.Second, func() bool { return holder(t, st) == "a" && srv.Requests("getUpdates") > polls })
	if got := a.logs.find("took the Telegram polling lease"); len(got) != 2 {
		t.Fatalf("a polled %d times, want twice", len(got))
	}
}
