// Package delivery holds the queues between the matcher and the senders: a
// stream of Telegram alerts split into shards by subscriber, and per email
// reader a list of matched articles waiting for their digest. Enqueueing is
// idempotent per (subscriber, story), so a matcher that re-reads an article
// after a crash sends nothing twice.
package delivery

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
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

// digestScript queues digest items for one story and records each in its
// reader's feed, unless the story already went to that reader, and
// returns how many it queued. On Redis Cluster one call holds one reader's
// item (its keys are in the reader's slot); on one Redis, all of a
// batch's. KEYS: marker, digest, feed of each item. ARGV: marker TTL (s),
// feed size, then item and feed entry of each in KEYS' order.
var digestScript = redis.NewScript(`
local ttl, size = tonumber(ARGV[1]), tonumber(ARGV[2])
local n = 0
for i = 1, #KEYS, 3 do
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ttl) then
    local j = 2 * (i - 1) / 3 + 3
    redis.call('RPUSH', KEYS[i + 1], ARGV[j])
    if redis.call('LPUSH', KEYS[i + 2], ARGV[j + 1]) > size then
      redis.call('LTRIM', KEYS[i + 2], 0, size - 1)
    end
    n = n + 1
  end
end
return n
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
// trips, few enough that one script call does not hold Redis for long and
// that an article's batches can be sent side by side (inFlight).
const batchSize = 100

// feedSlack is how far a chat's feed list may grow past ArchiveSize before
// it is trimmed back: alerts push their feed entries with a plain LPUSH,
// and only a push that took a list past ArchiveSize+feedSlack is followed
// by an LTRIM, once every feedSlack alerts for a busy chat.
const feedSlack = ArchiveSize / 10

// EnqueueBatch queues a story's Telegram alerts and digest items, each
// unless that story already went to that subscriber (a marker per
// subscriber and story, set by the same script that queues). An article
// matching hundreds of subscribers costs two round trips per batchSize
// deliveries, not one each, inFlight batches at a time: one pipeline
// holds the scripts that queue the batch's alerts (one per Telegram shard
// on a cluster, one in all on a single Redis), one LPUSH per alert to the
// chat's own feed (FeedKey, in the chat's slot, not the shard's), and the
// scripts that queue its digest items (one per reader on a cluster, one in
// all on a single Redis; they record each item in the reader's feed
// themselves); then the readers are marked pending. It returns how many
// alerts and digest items it queued, and is safe to repeat after a
// failure.
func EnqueueBatch(ctx context.Context, st *store.Store, story string, alerts []Alert, items []Digest) (queuedAlerts, queuedItems int, err error) {
	ttl := int64(MarkerTTL / time.Second)
	now := time.Now()
	legacy := false // look for markers of earlier versions too
	if len(alerts) > 0 {
		if legacy, err = checkLegacy(ctx, st, now); err != nil {
			return 0, 0, err
		}
	}
	type batch struct {
		alerts []Alert
		items  []Digest
		qa, qi int
		err    error
	}
	var batches []*batch
	for len(alerts)+len(items) > 0 {
		na := min(len(alerts), batchSize)
		ni := min(len(items), batchSize-na)
		batches = append(batches, &batch{alerts: alerts[:na], items: items[:ni]})
		alerts, items = alerts[na:], items[ni:]
	}
	// Batches go out side by side, a few at a time (each on a connection
	// of its own), so that Redis works on one while this process encodes
	// the next and reads the answers of another. Their order does not
	// matter: each delivery is for another subscriber, and each batch
	// marks its own readers pending after its own items are in.
	sem := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	for _, b := range batches {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			b.qa, b.qi, b.err = enqueue(ctx, st, story, b.alerts, b.items, ttl, now, legacy)
		}()
	}
	wg.Wait()
	for _, b := range batches {
		queuedAlerts += b.qa
		queuedItems += b.qi
		err = cmp.Or(err, b.err)
	}
	return queuedAlerts, queuedItems, err
}

// inFlight is how many batches of one EnqueueBatch are sent at once.
const inFlight = 4

// enqueue queues one batch in one pipeline: telegramScript and
// digestScript calls, as few as the server allows (on Redis Cluster one per
// shard and one per reader, whose keys share a slot; on one Redis one of
// each), and the feed entries of the alerts beside them (plain LPUSHes,
// pushed whether or not the alert was new: Feed shows a story once).
func enqueue(ctx context.Context, st *store.Store, story string, alerts []Alert, items []Digest, ttl int64, now time.Time, legacy bool) (queuedAlerts, queuedItems int, err error) {
	_, cluster := st.Redis.(*redis.ClusterClient)
	// An article's deliveries mostly share their article, topic and time:
	// encode each distinct entry once.
	entries := map[[3]string][]byte{}
	entry := func(article, topic string, at time.Time, item bool) []byte {
		k := [3]string{article, topic, at.Format(time.RFC3339Nano)}
		if item {
			k[2] += " item"
		}
		b, ok := entries[k]
		if !ok {
			if item {
				b, _ = json.Marshal(Item{Article: article, Topic: topic, At: at})
			} else {
				b = feedEntry(story, article, topic, at)
			}
			entries[k] = b
		}
		return b
	}
	// One call per shard on a cluster, one in all on a single Redis; each
	// sized for its alerts.
	flag := "0"
	if legacy {
		flag = "1"
	}
	shards := make([]int, len(alerts))
	var per [TelegramShards]int
	for i, a := range alerts {
		shards[i] = ShardOf(a.Sub)
		if cluster {
			per[shards[i]]++
		} else {
			per[0]++
		}
	}
	var calls []scriptCall
	var at [TelegramShards]int    // call group → 1 + its index in calls
	var place [TelegramShards]int // shard → its place in its call's KEYS (1, 2 …); 0: not yet
	var legacyKeys [][]string     // of each call, with legacy
	for j, a := range alerts {
		shard := shards[j]
		i := shard
		if !cluster {
			i = 0
		}
		if at[i] == 0 {
			args := append(make([]any, 0, 3+5*per[i]), ttl, 0, flag) // the shard count is set below
			calls = append(calls, scriptCall{telegramScript, make([]string, 0, 4), args})
			legacyKeys = append(legacyKeys, nil)
			at[i] = len(calls)
		}
		c := &calls[at[i]-1]
		if place[shard] == 0 {
			c.keys = append(c.keys, queuedKey(st, shard, story), st.Key(telegramTag(shard), "queue"))
			place[shard] = len(c.keys) / 2
			c.args[1] = place[shard]
		}
		c.args = append(c.args, place[shard], a.Sub, strconv.FormatInt(a.ChatID, 10), a.Article, a.Topic)
		if legacy {
			legacyKeys[at[i]-1] = append(legacyKeys[at[i]-1], legacyMarker(st, shard, a.Sub, story))
		}
	}
	for i, ks := range legacyKeys {
		calls[i].keys = append(calls[i].keys, ks...)
	}
	shardCalls := len(calls)
	for _, d := range items {
		when := d.Item.At
		if when.IsZero() {
			when = now
		}
		if cluster || len(calls) == shardCalls {
			calls = append(calls, scriptCall{digestScript, nil, []any{ttl, ArchiveSize}})
		}
		c := &calls[len(calls)-1]
		c.keys = append(c.keys, digestMarker(st, d.Sub, story), DigestKey(st, d.Sub), FeedKey(st, d.Sub))
		c.args = append(c.args, entry(d.Item.Article, d.Item.Topic, d.Item.At, true), entry(d.Item.Article, d.Item.Topic, when, false))
	}
	feeds := make([]*redis.IntCmd, len(alerts))
	cmds := runScripts(ctx, st, calls, func(p redis.Pipeliner) {
		for i, a := range alerts {
			feeds[i] = p.LPush(ctx, FeedKey(st, a.Sub), entry(a.Article, a.Topic, now, false))
		}
	})
	var first error
	for i, c := range cmds {
		v, err := c.Int()
		switch {
		case err != nil && i < shardCalls:
			first = cmp.Or(first, fmt.Errorf("queue alerts: %w", err))
		case err != nil:
			first = cmp.Or(first, fmt.Errorf("queue digest items: %w", err))
		case i < shardCalls:
			queuedAlerts += v
		default:
			queuedItems += v
		}
	}
	if len(items) > 0 {
		// The pending set lives in another slot; the readers are marked
		// pending only once their items are in (a round trip later, not in
		// the same pipeline, which Redis Cluster may run on other nodes
		// first), so a crash in between leaves an item waiting until the
		// reader's next match or the email role's next Sweep, never lost.
		subs := make([]any, len(items))
		for i, d := range items {
			subs[i] = d.Sub
		}
		if err := st.Redis.SAdd(ctx, PendingKey(st), subs...).Err(); err != nil {
			first = cmp.Or(first, fmt.Errorf("mark readers pending: %w", err))
		}
	}
	var long []string
	for i, c := range feeds {
		if n, err := c.Result(); err != nil {
			first = cmp.Or(first, fmt.Errorf("push to feed of %s: %w", alerts[i].Sub, err))
		} else if n > ArchiveSize+feedSlack {
			long = append(long, FeedKey(st, alerts[i].Sub))
		}
	}
	if len(long) > 0 {
		_, err := st.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range long {
				p.LTrim(ctx, k, 0, ArchiveSize-1)
			}
			return nil
		})
		if err != nil {
			first = cmp.Or(first, fmt.Errorf("trim %d feeds: %w", len(long), err))
		}
	}
	return queuedAlerts, queuedItems, first
}

// scriptCall is one script to run with its keys and arguments.
type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
}

// runScripts runs calls, and the commands more adds (if any), in one
// pipeline, and returns the calls' answers in order. It sends each
// script's hash and, if Redis does not know it yet, the script itself for
// the calls that failed so (a second round trip, once per script and
// server).
func runScripts(ctx context.Context, st *store.Store, calls []scriptCall, more func(redis.Pipeliner)) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(calls))
	_, _ = st.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range calls {
			cmds[i] = c.script.EvalSha(ctx, p, c.keys, c.args...)
		}
		if more != nil {
			more(p)
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
	return cmds
}
