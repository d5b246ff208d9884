package mailer

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/store/storetest"
)

// outage makes the next n script calls fail as a Redis that went away
// does, and counts every script call.
type outage struct {
	left  atomic.Int32
	calls atomic.Int32
}

func (o *outage) DialHook(next redis.DialHook) redis.DialHook { return next }

func (o *outage) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (o *outage) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if name := strings.ToLower(cmd.Name()); name != "evalsha" && name != "eval" {
			return next(ctx, cmd)
		}
		o.calls.Add(1)
		if o.left.Add(-1) >= 0 {
			err := errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

func heldLock(t *testing.T, o *outage) (*lock, redis.UniversalClient) {
	t.Helper()
	st := storetest.New(t)
	st.Redis.AddHook(o)
	l := newLock(st.Redis, st.Key("sub", "{lock-test}", "sending"), time.Minute)
	ctx := context.Background()
	var ok *redis.BoolCmd
	if _, err := st.Redis.Pipelined(ctx, func(p redis.Pipeliner) error { ok = l.acquire(ctx, p); return nil }); err != nil || !ok.Val() {
		t.Fatalf("acquire: %v, %v", ok.Val(), err)
	}
	return l, st.Redis
}

// A release that meets a Redis outage is tried again once Redis answers:
// Redis restarted from its append-only file brings the lock back, and a
// holder that gave up at once left its reader without digests for the
// rest of the lock's TTL (the fault suite's Redis restart lost a digest so).
func TestLockReleaseOutlivesAnOutage(t *testing.T) {
	o := &outage{}
	l, rdb := heldLock(t, o)
	o.left.Store(3)
	if err := l.release(context.Background()); err != nil {
		t.Fatalf("release through a short outage: %v", err)
	}
	// 3 failed, then one that went through (an EVALSHA, and an EVAL if the
	// server did not know the script yet).
	if n := o.calls.Load(); n < 4 || n > 5 {
		t.Errorf("release made %d script calls, want 3 failed and then 1 or 2 that went through", n)
	}
	if n, err := rdb.Exists(context.Background(), l.key).Result(); err != nil || n != 0 {
		t.Fatalf("lock still there after the release (%d, %v)", n, err)
	}
}

// A process shutting down does not wait for Redis: its lock's TTL frees
// the reader, as after a crash.
func TestLockReleaseGivesUpOnShutdown(t *testing.T) {
	o := &outage{}
	l, rdb := heldLock(t, o)
	o.left.Store(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.release(ctx); err == nil {
		t.Fatal("release during an outage, shutting down, reported success")
	}
	if n := o.calls.Load(); n != 1 {
		t.Errorf("release made %d script calls while shutting down, want 1", n)
	}
	o.left.Store(0)
	if ttl, err := rdb.PTTL(context.Background(), l.key).Result(); err != nil || ttl <= 0 {
		t.Fatalf("lock left after a failed release has TTL %v (%v), want its own expiry", ttl, err)
	}
}
