package signup

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

const limitWindow = 24 * time.Hour

// admitScript counts one email in a sliding window: a sorted set of sends
// by time (ms), pruned to the window, refused when it already holds
// ARGV[3]. A sliding window, not a calendar day: no burst across
// midnight doubles the limit.
var admitScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

// admit counts a sign-up email against the daily limit of one address or
// chat and reports whether it may be sent.
func (r *Registrar) admit(ctx context.Context, kind, key string) (bool, error) {
	if r.Limit <= 0 {
		return true, nil
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	k := r.st.Key("ratelimit", "confirm", kind, key)
	n, err := admitScript.Run(ctx, r.st.Redis, []string{k},
		r.Now().UnixMilli(), limitWindow.Milliseconds(), r.Limit, hex.EncodeToString(b[:])).Int()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// addressKey names an address in a key without writing it out, the same
// for any spelling of its case.
func addressKey(email string) string {
	h := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(h[:12])
}
