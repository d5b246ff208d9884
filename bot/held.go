package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
)

// HeldKey is the list of alerts held for a subscriber's next round-up or
// the end of its quiet hours (JSON items, oldest first). It is under the
// tag of the subscriber's alert queue shard, so that holding alerts and
// acknowledging them is one transaction.
func HeldKey(st *store.Store, sub string) string {
	return st.Key(delivery.TelegramTag(sub), "held", sub)
}

// DueKey is the sorted set of subscribers of sub's shard with held alerts,
// scored by the time (ms) their round-up is due.
func DueKey(st *store.Store, sub string) string { return st.Key(delivery.TelegramTag(sub), "due") }

// heldTags are the tags under which held lists and due sets live: every
// shard's, and {tg}, where versions before the sharded queue held them
// (and alerts read from the unsharded queue are held still).
func heldTags() []string { return delivery.TelegramTags() }

// heldTagsOf are the tags a subscriber's held alerts may be under: its
// shard's, and {tg} (alerts held before the queue was sharded, or read
// from the unsharded queue since).
func heldTagsOf(sub string) []string { return []string{delivery.TelegramTag(sub), "{tg}"} }

// HeldChats counts the subscribers with held alerts, over every shard.
func HeldChats(ctx context.Context, st *store.Store) (int64, error) {
	var n int64
	for _, tag := range heldTags() {
		c, err := st.Redis.ZCard(ctx, st.Key(tag, "due")).Result()
		if err != nil {
			return n, err
		}
		n += c
	}
	return n, nil
}

// heldItem is an alert held in HeldKey.
type heldItem struct {
	Article string `json:"a"`
	Topic   string `json:"t"`
}

// hold moves alerts from the queue to a subscriber's held list and
// schedules its round-up in one transaction per stream the alerts came
// from (the held list and due set are under that stream's tag), so a crash
// neither loses nor doubles them.
func (s *Sender) hold(ctx context.Context, sub string, es []entry, at time.Time) error {
	byTag := map[string][]entry{}
	for _, e := range es {
		tag := s.queue.Tag(e.id)
		byTag[tag] = append(byTag[tag], e)
	}
	for tag, es := range byTag {
		items := make([]any, len(es))
		ids := make([]string, len(es))
		for i, e := range es {
			b, _ := json.Marshal(heldItem{Article: e.al.Article, Topic: e.al.Topic})
			items[i], ids[i] = string(b), e.id
		}
		_, err := s.st.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.RPush(ctx, s.st.Key(tag, "held", sub), items...)
			s.queue.AckIn(ctx, p, ids...)
			p.ZAddNX(ctx, s.st.Key(tag, "due"), redis.Z{Score: float64(at.UnixMilli()), Member: sub})
			return nil
		})
		if err != nil {
			return fmt.Errorf("hold alerts for %s: %w", sub, err)
		}
	}
	return nil
}

// claimDueScript takes up to ARGV[2] subscribers due by ARGV[1] and
// pushes them to ARGV[3], a lease: a process that dies mid-round-up leaves
// the round-up to fall due again.
var claimDueScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], ARGV[3], id)
end
return ids
`)

// finishScript removes the first ARGV[1] held items and, if more came in
// the meantime, schedules them for ARGV[3], else forgets the subscriber.
var finishScript = redis.NewScript(`
redis.call('LTRIM', KEYS[1], tonumber(ARGV[1]), -1)
if redis.call('LLEN', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[2])
else
  redis.call('ZADD', KEYS[2], 'XX', ARGV[3], ARGV[2])
end
return 1
`)

// flushLoop sends round-ups that are due until ctx ends, from every
// shard's due set.
func (s *Sender) flushLoop(ctx context.Context) {
	const lease = 2 * time.Minute
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	defer wg.Wait()
	for sleep(ctx, s.FlushEvery) {
		for _, tag := range heldTags() {
			now := s.Now()
			ids, err := claimDueScript.Run(ctx, s.st.Redis, []string{s.st.Key(tag, "due")},
				now.UnixMilli(), 50, now.Add(lease).UnixMilli()).StringSlice()
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, redis.Nil) {
					s.log.Warn("cannot read due round-ups", "err", err)
				}
				continue
			}
			for _, id := range ids {
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer func() { <-sem; wg.Done() }()
					if err := s.flush(ctx, tag, id); err != nil && ctx.Err() == nil {
						s.log.Warn("round-up failed; it will be tried again", "subscriber", id, "err", err)
					}
				}()
			}
		}
	}
}

// flush sends a subscriber's alerts held under tag, gathered.
func (s *Sender) flush(ctx context.Context, tag, id string) error {
	key, due := s.st.Key(tag, "held", id), s.st.Key(tag, "due")
	raw, err := s.st.Redis.LRange(ctx, key, 0, 199).Result()
	if err != nil {
		return err
	}
	finish := func(n int, next time.Time) error {
		return finishScript.Run(context.WithoutCancel(ctx), s.st.Redis, []string{key, due}, n, id, next.UnixMilli()).Err()
	}
	sub, err := s.subs.Get(ctx, id)
	if errors.Is(err, subscriptions.ErrNotFound) {
		return finish(len(raw), time.Time{})
	}
	if err != nil {
		return err
	}
	now := s.Now()
	if !sub.Active() || pausedNow(sub, now) {
		return finish(len(raw), releaseAt(sub, now))
	}
	if from, to, err := parseQuiet(sub.Quiet); sub.Quiet != "" && err == nil && inQuiet(from, to, now.In(location(sub))) {
		// Quiet hours began after the round-up was planned: hold on.
		return finish(0, nextClock(now.In(location(sub)), to))
	}
	es := make([]entry, 0, len(raw))
	for _, r := range raw {
		var h heldItem
		if json.Unmarshal([]byte(r), &h) == nil {
			es = append(es, entry{al: delivery.Alert{Sub: id, ChatID: sub.ChatID, Article: h.Article, Topic: h.Topic}})
		}
	}
	arts, err := s.articles(ctx, es)
	if err != nil {
		return err
	}
	var send []pending
	for _, e := range es {
		if a := arts[e.al.Article]; a != nil {
			if t := liveTopic(sub, a, e.al.Topic); t != "" {
				send = appendUnique(send, pending{Item: Item{Article: a, Topic: t}})
			}
		}
	}
	s.summarize(ctx, send)
	n, res := s.deliver(ctx, sub, send, true, 50)
	if n < len(send) && !res.gone {
		// Keep them all: a round-up is one message, and a repeat of the
		// part that went is better than a loss.
		return fmt.Errorf("round-up to %s stopped after %d of %d alerts", id, n, len(send))
	}
	return finish(len(raw), releaseAt(sub, s.Now()))
}
