package mailer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultLockTTL is how long a reader's send lock lasts unless its holder
// extends it, so how long a process killed while sending a digest keeps
// that reader from the others. It is not the queues' claim timeout: one
// SMTP exchange may take longer than that, and a live holder extends its
// lock every third of it for as long as it works on the digest. A minute:
// a holder must fail to reach Redis for a whole minute before another
// process may send the same digest, and a killed holder delays a reader's
// digest by at most that (five minutes, as it was, outlasted the fault
// suite's wait for a digest whose sender was killed holding its lock).
const DefaultLockTTL = time.Minute

// lockScript extends a lock to ARGV[2] milliseconds, or releases it when
// ARGV[2] is 0, only if it still holds its owner's token ARGV[1]: a holder
// whose lock expired must not free, or keep alive, the next holder's.
var lockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] == '0' then
  return redis.call('DEL', KEYS[1])
end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
`)

// lock is one process's hold on a reader's digest (sub:{id}:sending),
// its value a token drawn for this acquisition.
type lock struct {
	rdb   redis.Scripter
	key   string
	token string
	ttl   time.Duration

	stop chan struct{}
	wg   sync.WaitGroup
}

func newLock(rdb redis.Scripter, key string, ttl time.Duration) *lock {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return &lock{rdb: rdb, key: key, token: hex.EncodeToString(b[:]), ttl: ttl}
}

// acquire queues the SET NX that takes the lock on p.
func (l *lock) acquire(ctx context.Context, p redis.Pipeliner) *redis.BoolCmd {
	return p.SetNX(ctx, l.key, l.token, l.ttl)
}

// extend pushes the lock's expiry a whole TTL ahead; false means it is no
// longer this holder's (it expired, and maybe another process took it).
func (l *lock) extend(ctx context.Context) (bool, error) {
	n, err := lockScript.Run(ctx, l.rdb, []string{l.key}, l.token, strconv.FormatInt(max(l.ttl.Milliseconds(), 1), 10)).Int()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// keep extends the lock every third of its TTL (or at each of ticks, when
// given) until release, so that a long send keeps it; told of each
// extension, onExtend may be nil.
func (l *lock) keep(ctx context.Context, ticks <-chan time.Time, onExtend func(held bool, err error)) {
	l.stop = make(chan struct{})
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		if ticks == nil {
			t := time.NewTicker(max(l.ttl/3, time.Millisecond))
			defer t.Stop()
			ticks = t.C
		}
		for {
			select {
			case <-l.stop:
				return
			case <-ctx.Done():
				return
			case <-ticks:
			}
			held, err := l.extend(ctx)
			if onExtend != nil {
				onExtend(held, err)
			}
			if err == nil && !held {
				return // taken over: nothing of it is ours to extend
			}
		}
	}()
}

// release stops the extensions and deletes the lock if it is still this
// holder's. A release that cannot reach Redis is tried again until Redis
// answers, for at most releaseFor, unless ctx ends first (the process is
// shutting down): Redis restarted from its append-only file brings the
// lock back, and a live holder that gave up at once would leave its reader
// without digests for the rest of the lock's TTL.
func (l *lock) release(ctx context.Context) error {
	if l.stop != nil {
		close(l.stop)
		l.wg.Wait()
	}
	deadline := time.Now().Add(releaseFor)
	wait := 100 * time.Millisecond
	for {
		err := lockScript.Run(context.WithoutCancel(ctx), l.rdb, []string{l.key}, l.token, "0").Err()
		if err == nil || errors.Is(err, redis.Nil) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// releaseFor bounds how long a holder keeps trying to release its lock
// through a Redis outage; past it the lock's own TTL frees the reader.
const releaseFor = 30 * time.Second
