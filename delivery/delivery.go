// Package delivery holds the queues between the matcher and the senders: one
// stream of Telegram alerts, and per email reader a list of matched articles
// waiting for their digest. Enqueueing is idempotent per (subscriber, story),
// so a matcher that re-reads an article after a crash sends nothing twice.
package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
)

// MarkerTTL is how long Herald remembers that a story went to a subscriber.
const MarkerTTL = 30 * 24 * time.Hour

// Item is one matched article waiting in an email reader's digest.
type Item struct {
	Article string    `json:"a"`
	Topic   string    `json:"t"`
	At      time.Time `json:"at"`
}

// DigestKey is the list of items waiting for a reader's next digest. It
// shares the reader's hash tag, so one reader's data stays in one slot.
func DigestKey(st *store.Store, sub string) string { return subscriptions.Key(st, sub, "digest") }

func digestMarker(st *store.Store, sub, story string) string {
	return subscriptions.Key(st, sub, "got", story)
}

// PendingKey is the set of readers with something waiting.
func PendingKey(st *store.Store) string { return st.Key("{mail}", "pending") }

// digestScript queues a digest item and records it in the reader's feed,
// unless the story already went to the reader. KEYS: marker, digest, feed.
// ARGV: marker TTL (s), item, feed entry, feed size.
var digestScript = redis.NewScript(`
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', tonumber(ARGV[1])) then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  redis.call('LPUSH', KEYS[3], ARGV[3])
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[4]) - 1)
  return 1
end
return 0
`)

// Pending returns the readers with items waiting.
func Pending(ctx context.Context, st *store.Store) ([]string, error) {
	return st.Redis.SMembers(ctx, PendingKey(st)).Result()
}

// Items returns what waits in a reader's digest, oldest first.
func Items(ctx context.Context, st *store.Store, sub string) ([]Item, error) {
	raw, err := st.Redis.LRange(ctx, DigestKey(st, sub), 0, 999).Result()
	if err != nil {
		return nil, err
	}
	out := make([]Item, 0, len(raw))
	for _, r := range raw {
		var it Item
		if json.Unmarshal([]byte(r), &it) == nil {
			out = append(out, it)
		}
	}
	return out, nil
}

// Done removes the first n items of a reader's digest after it was
// accepted by the mail server, and clears the pending mark when nothing is
// left.
func Done(ctx context.Context, st *store.Store, sub string, n int) error {
	if err := st.Redis.LTrim(ctx, DigestKey(st, sub), int64(n), -1).Err(); err != nil {
		return fmt.Errorf("trim digest of %s: %w", sub, err)
	}
	left, err := st.Redis.LLen(ctx, DigestKey(st, sub)).Result()
	if err != nil {
		return err
	}
	if left > 0 {
		return nil
	}
	if err := st.Redis.SRem(ctx, PendingKey(st), sub).Err(); err != nil {
		return err
	}
	// A matcher may have pushed an item between LLEN and SREM (its SADD
	// then found the reader still marked): look again, or that item would
	// wait unseen until the reader's next match.
	if left, err = st.Redis.LLen(ctx, DigestKey(st, sub)).Result(); err == nil && left > 0 {
		err = st.Redis.SAdd(ctx, PendingKey(st), sub).Err()
	}
	return err
}

// Digest is one item for one email reader, for EnqueueBatch.
type Digest struct {
	Sub  string
	Item Item
}

// batchSize is how many deliveries go to Redis in one pipeline: enough
// that an article matching hundreds of subscribers costs a few round
// trips, few enough that one pipeline does not hold Redis for long.
const batchSize = 300

// EnqueueBatch queues a story's Telegram alerts and digest items, each
// unless that story already went to that subscriber (a marker per
// subscriber and story, set by the same script that queues). It pipelines
// the scripts, so that an article matching hundreds of subscribers costs a
// few round trips instead of one each. Each delivery is also recorded in
// the subscriber's own feed (FeedKey): by the digest script itself for a
// reader, by one more script in the same pipeline for a chat (the alert's
// marker lives in the queue's slot, not the chat's). It returns how many
// alerts and digest items it queued, and is safe to repeat after a failure.
func EnqueueBatch(ctx context.Context, st *store.Store, story string, alerts []Alert, items []Digest) (queuedAlerts, queuedItems int, err error) {
	ttl := int64(MarkerTTL / time.Second)
	now := time.Now()
	for len(alerts) > 0 {
		n := min(len(alerts), batchSize)
		q, err := runBatch(ctx, st, n, func(i int) (scriptCall, *scriptCall) {
			a := alerts[i]
			return scriptCall{telegramScript, []string{telegramMarker(st, a.Sub, story), TelegramQueue(st)}, alertArgs(ttl, a)},
				&scriptCall{feedScript, []string{FeedKey(st, a.Sub)}, []any{feedEntry(story, a.Article, a.Topic, now), ArchiveSize}}
		})
		queuedAlerts += q
		if err != nil {
			return queuedAlerts, queuedItems, fmt.Errorf("queue alerts: %w", err)
		}
		alerts = alerts[n:]
	}
	for len(items) > 0 {
		n := min(len(items), batchSize)
		q, err := runBatch(ctx, st, n, func(i int) (scriptCall, *scriptCall) {
			d := items[i]
			body, _ := json.Marshal(d.Item)
			at := d.Item.At
			if at.IsZero() {
				at = now
			}
			return scriptCall{digestScript, []string{digestMarker(st, d.Sub, story), DigestKey(st, d.Sub), FeedKey(st, d.Sub)},
				[]any{ttl, body, feedEntry(story, d.Item.Article, d.Item.Topic, at), ArchiveSize}}, nil
		})
		queuedItems += q
		if err != nil {
			return queuedAlerts, queuedItems, fmt.Errorf("queue digest items: %w", err)
		}
		// The pending set lives in another slot; the readers are marked
		// pending only once their items are in (a round trip later, not in
		// the same pipeline, which Redis Cluster may run on other nodes
		// first), so a crash in between leaves an item waiting until the
		// reader's next match or the email role's next Sweep, never lost.
		subs := make([]any, n)
		for i, d := range items[:n] {
			subs[i] = d.Sub
		}
		if err := st.Redis.SAdd(ctx, PendingKey(st), subs...).Err(); err != nil {
			return queuedAlerts, queuedItems, fmt.Errorf("mark readers pending: %w", err)
		}
		items = items[n:]
	}
	return queuedAlerts, queuedItems, nil
}

// scriptCall is one script to run with its keys and arguments.
type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
}

// runBatch runs, in one pipeline, n counted calls and the extra call
// beside each (if any), and returns how many counted calls returned 1. It
// sends each script's hash and, if Redis does not know it yet, the script
// itself for the calls that failed so.
func runBatch(ctx context.Context, st *store.Store, n int, call func(i int) (scriptCall, *scriptCall)) (int, error) {
	cmds := make([]*redis.Cmd, 0, 2*n)
	calls := make([]scriptCall, 0, 2*n)
	counted := make([]bool, 0, 2*n)
	for i := range n {
		c, extra := call(i)
		calls, counted = append(calls, c), append(counted, true)
		if extra != nil {
			calls, counted = append(calls, *extra), append(counted, false)
		}
	}
	_, _ = st.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range calls {
			cmds = append(cmds, c.script.EvalSha(ctx, p, c.keys, c.args...))
		}
		return nil
	})
	var retry []int
	for i, c := range cmds {
		if err := c.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			retry = append(retry, i)
		}
	}
	if len(retry) > 0 {
		_, _ = st.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, i := range retry {
				c := calls[i]
				cmds[i] = c.script.Eval(ctx, p, c.keys, c.args...)
			}
			return nil
		})
	}
	queued := 0
	for i, c := range cmds {
		v, err := c.Int()
		if err != nil {
			return queued, err
		}
		if counted[i] {
			queued += v
		}
	}
	return queued, nil
}
