package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/store"
)

// pollerKey holds the id of the one process long-polling getUpdates:
// Telegram answers a second poller with 409 Conflict.
func pollerKey(st *store.Store) string { return st.Key("{tg}", "poller") }

// lease is a Redis lease held by one owner at a time. Only its owner may
// renew or release it, in the same script call that checks the owner, so
// a process whose lease ran out while it stalled can neither extend nor
// delete the lease another process has taken since.
type lease struct {
	rdb   redis.UniversalClient
	key   string
	owner string
	ttl   time.Duration
}

// leaseScript takes, renews or releases a lease. KEYS: the lease. ARGV:
// mode (take, renew or release), owner, TTL in ms. Taking succeeds when
// the lease is free or already the owner's (a process that stopped polling
// after a failed renewal gets its own lease back without waiting for it to
// expire); renewing and releasing only when it is the owner's. Returns 1
// on success.
var leaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if ARGV[1] == 'take' and not v then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
if v ~= ARGV[2] then
  return 0
end
if ARGV[1] == 'release' then
  redis.call('DEL', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1
`)

func (l *lease) run(ctx context.Context, mode string) (bool, error) {
	n, err := leaseScript.Run(ctx, l.rdb, []string{l.key}, mode, l.owner, l.ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("%s lease %s: %w", mode, l.key, err)
	}
	return n == 1, nil
}

// take reports whether the lease is now the owner's.
func (l *lease) take(ctx context.Context) (bool, error) { return l.run(ctx, "take") }

// renew extends the lease by its TTL and reports whether it was still the
// owner's.
func (l *lease) renew(ctx context.Context) (bool, error) { return l.run(ctx, "renew") }

// release gives the lease up, if it is still the owner's, so that the next
// process need not wait for it to expire; it reports whether it was.
func (l *lease) release(ctx context.Context) (bool, error) { return l.run(ctx, "release") }
