package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/queue"
	"github.com/herald-news/herald/store"
)

// TelegramGroup is the consumer group in which every Telegram sender, in
// any process, reads the alert queue: each alert goes to one of them.
const TelegramGroup = "telegram"

// Alert is one Telegram message to send.
type Alert struct {
	Sub     string // subscriber id
	ChatID  int64
	Article string // article id
	Topic   string // the topic that matched, as the subscriber wrote it
}

// TelegramShards is how many streams the alert queue is split into, each
// with its markers under a hash tag of its own ({tg:0} … {tg:15}), so that
// on Redis Cluster the queue and its markers spread over the masters
// instead of loading the one that holds {tg}. A subscriber's alerts all go
// to one shard (ShardOf), so they stay in order. It is part of the stored
// format: a new value moves subscribers to other shards (see
// ARCHITECTURE.md, "Changing TelegramShards").
const TelegramShards = 16

// ShardOf is the shard of a subscriber's alerts and markers: FNV-1a (64
// bit) of the id's bytes modulo TelegramShards. It is not the matcher's
// partition hash, so a matcher partition's alerts spread over every shard.
func ShardOf(sub string) int {
	h := uint64(fnvOffset)
	for i := 0; i < len(sub); i++ {
		h = (h ^ uint64(sub[i])) * fnvPrime
	}
	return int(h % TelegramShards)
}

// FNV-1a's 64-bit parameters (as hash/fnv's New64a, without its
// allocation: ShardOf runs once per delivery).
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// telegramTag is the hash tag of shard i; -1 is the unsharded queue of
// earlier versions, {tg}.
func telegramTag(i int) string {
	if i < 0 {
		return "{tg}"
	}
	return "{tg:" + strconv.Itoa(i) + "}"
}

// TelegramTag is the hash tag of a subscriber's shard, {tg:S}: keys that
// change together with its queued alerts (held lists) belong under it.
func TelegramTag(sub string) string { return telegramTag(ShardOf(sub)) }

// TelegramTags are the tags of every shard, then {tg}, where alerts read
// from the unsharded queue of earlier versions are kept.
func TelegramTags() []string {
	out := make([]string, 0, TelegramShards+1)
	for i := range TelegramShards {
		out = append(out, telegramTag(i))
	}
	return append(out, telegramTag(-1))
}

// TelegramQueue is the stream a subscriber's alerts are queued in.
func TelegramQueue(st *store.Store, sub string) string {
	return st.Key(telegramTag(ShardOf(sub)), "queue")
}

// TelegramQueues are the streams the senders read: the TelegramShards
// shards, then {tg}:queue, which earlier versions wrote every alert to and
// which is read on so that nothing queued before an upgrade is lost (it
// stays empty once they are gone).
func TelegramQueues(st *store.Store) []string {
	var out []string
	for _, tag := range TelegramTags() {
		out = append(out, st.Key(tag, "queue"))
	}
	return out
}

// The fields of an alert's stream entry: telegramScript writes them and
// decodeAlert reads them, and nothing else in Herald knows them.
const (
	fieldSub     = "sub"
	fieldChat    = "chat"
	fieldArticle = "article"
	fieldTopic   = "topic"
)

// telegramScript queues alerts for one story: for each, it records the
// subscriber in its shard's hash of the story's alerts and appends the
// alert to the shard's queue only if the subscriber was not there yet
// (nor, while markers of earlier versions may exist, has such a marker),
// and returns how many it appended. On Redis Cluster one call holds the
// alerts of one shard; on one Redis, all of a batch's.
//
// KEYS: the story's hash and the queue of each shard in the call, then,
// when ARGV[3] is "1", the earlier versions' marker of each alert. ARGV:
// marker TTL (s), the number of shards in KEYS, "1" to check the earlier
// markers, then for each alert its shard's place in KEYS (1, 2 …), sub,
// chat, article and topic.
//
// One hash field per alert instead of a key of its own (as before) costs
// Redis half the time and a third of the memory: a key is an object, an
// entry in the keyspace and one in the table of expiring keys.
var telegramScript = redis.NewScript(`
local ttl, shards, legacy = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1'
local n, k = 0, 2 * shards
for j = 4, #ARGV, 5 do
  k = k + 1
  local h = 2 * tonumber(ARGV[j]) - 1
  if redis.call('HSETNX', KEYS[h], ARGV[j + 1], '1') == 1 and not (legacy and redis.call('EXISTS', KEYS[k]) == 1) then
    redis.call('XADD', KEYS[h + 1], '*', '` + fieldSub + `', ARGV[j + 1], '` + fieldChat + `', ARGV[j + 2], '` + fieldArticle + `', ARGV[j + 3], '` + fieldTopic + `', ARGV[j + 4])
    n = n + 1
  end
end
for h = 1, 2 * shards, 2 do
  redis.call('EXPIRE', KEYS[h], ttl)
end
return n
`)

// queuedKey is the hash of the subscribers of a shard that a story was
// queued for.
func queuedKey(st *store.Store, shard int, story string) string {
	return st.Key(telegramTag(shard), "queued", story)
}

// legacyMarker is the marker earlier versions kept per (subscriber,
// story), one key each.
func legacyMarker(st *store.Store, shard int, sub, story string) string {
	return st.Key(telegramTag(shard), "sent", sub, story)
}

// markersKey holds until when (Unix seconds) markers of earlier versions
// may be alive: MarkerTTL after the first enqueue of this version on a
// Redis where alerts had been queued before it, and 0 on one where none
// had (a new installation).
func markersKey(st *store.Store) string { return st.Key("{tg}", "markers") }

// checkLegacy reports whether enqueueing must also look for markers of
// earlier versions. The first call on a Redis decides it for everyone
// (SET NX): if any alert queue has ever had an entry, earlier versions
// ran there, and their markers live for MarkerTTL.
func checkLegacy(ctx context.Context, st *store.Store, now time.Time) (bool, error) {
	v, err := st.Redis.Get(ctx, markersKey(st)).Int64()
	if errors.Is(err, redis.Nil) {
		until := int64(0)
		for _, key := range TelegramQueues(st) {
			info, err := st.Redis.XInfoStream(ctx, key).Result()
			if err != nil && !strings.Contains(err.Error(), "no such key") {
				return true, fmt.Errorf("read alert queue %s: %w", key, err)
			}
			if err == nil && info.LastGeneratedID != "0-0" {
				until = now.Add(MarkerTTL).Unix()
				break
			}
		}
		// Kept for good (a few bytes): were it to expire, the next enqueue
		// would find the queues used and look for old markers again.
		if err := st.Redis.SetNX(ctx, markersKey(st), until, 0).Err(); err != nil {
			return true, fmt.Errorf("record marker format: %w", err)
		}
		v, err = st.Redis.Get(ctx, markersKey(st)).Int64()
	}
	if err != nil {
		return true, fmt.Errorf("read marker format: %w", err)
	}
	return now.Unix() < v, nil
}

// decodeAlert reads an entry telegramScript wrote; false means the entry
// is not an alert Herald can send.
func decodeAlert(m queue.Message) (Alert, bool) {
	chat, err := strconv.ParseInt(m.Get(fieldChat), 10, 64)
	a := Alert{Sub: m.Get(fieldSub), ChatID: chat, Article: m.Get(fieldArticle), Topic: m.Get(fieldTopic)}
	return a, err == nil && chat != 0 && a.Sub != "" && a.Article != ""
}

// Queued is an alert as read from the queue: it stays pending in
// TelegramGroup, with this process, until it is acknowledged.
type Queued struct {
	ID string // the stream entry, for Ack
	Alert
	// Claimed says it was taken over from a consumer that went quiet
	// (perhaps a killed process, perhaps this one before a restart).
	Claimed bool
}

// AlertQueue is the Telegram alert queue as one sender reads it: every
// shard and the unsharded queue of earlier versions, in one loop. Entries
// come out decoded, and are acknowledged through it once sent, dropped or
// moved elsewhere.
type AlertQueue struct {
	streams []*queue.Stream // TelegramQueues' order
	shard   map[string]int  // stream key → its index
	log     *slog.Logger
}

// NewAlertQueue opens the queue for consumer (unique per process). An
// alert left unacknowledged with a consumer for claimAfter (0: 30 s) is
// taken over by another.
func NewAlertQueue(st *store.Store, consumer string, claimAfter time.Duration, log *slog.Logger) *AlertQueue {
	if log == nil {
		log = slog.Default()
	}
	q := &AlertQueue{shard: map[string]int{}, log: log}
	for i, key := range TelegramQueues(st) {
		q.streams = append(q.streams, &queue.Stream{Redis: st.Redis, Key: key, Group: TelegramGroup,
			Consumer: consumer, ClaimAfter: claimAfter, Log: log})
		q.shard[key] = i
	}
	return q
}

// An alert's ID (Queued.ID) names its stream and its entry there:
// "<shard>/<entry>", or the bare entry id for the unsharded queue.
func (q *AlertQueue) ref(m queue.Message) string {
	i := q.shard[m.Stream]
	if i == len(q.streams)-1 {
		return m.ID
	}
	return strconv.Itoa(i) + "/" + m.ID
}

// split takes an alert's ID apart into its stream's index and its entry.
func (q *AlertQueue) split(ref string) (int, string) {
	if s, id, ok := strings.Cut(ref, "/"); ok {
		if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < len(q.streams)-1 {
			return i, id
		}
	}
	return len(q.streams) - 1, ref
}

// group sorts alert IDs by stream.
func (q *AlertQueue) group(refs []string) map[int][]string {
	out := map[int][]string{}
	for _, r := range refs {
		i, id := q.split(r)
		out[i] = append(out[i], id)
	}
	return out
}

// Tag is the hash tag of the stream an alert came from: what a transaction
// that acknowledges it (AckIn) may touch besides.
func (q *AlertQueue) Tag(ref string) string {
	i, _ := q.split(ref)
	if i == len(q.streams)-1 {
		return telegramTag(-1)
	}
	return telegramTag(i)
}

// Ensure creates the queues and their group if they do not exist.
func (q *AlertQueue) Ensure(ctx context.Context) error {
	for _, s := range q.streams {
		if err := s.Ensure(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Consume reads alerts from every shard until ctx ends, as
// queue.ConsumeAll does: room says how many this process may take now
// (blocking while it has no room), take gets them. An entry that is not an
// alert is acknowledged and logged, never handed on.
func (q *AlertQueue) Consume(ctx context.Context, room func(context.Context) int, take func(context.Context, []Queued)) error {
	return queue.ConsumeAll(ctx, q.streams, room, func(ctx context.Context, msgs []queue.Message) {
		out := make([]Queued, 0, len(msgs))
		var junk []string
		for _, m := range msgs {
			a, ok := decodeAlert(m)
			if !ok {
				junk = append(junk, q.ref(m))
				continue
			}
			out = append(out, Queued{ID: q.ref(m), Alert: a, Claimed: m.Retries > 0})
		}
		if len(junk) > 0 {
			q.log.Warn("dropping alert queue entries that are not alerts", "entries", junk)
			if err := q.Ack(context.WithoutCancel(ctx), junk...); err != nil {
				q.log.Warn("cannot drop entries that are not alerts", "err", err)
			}
		}
		if len(out) > 0 {
			take(ctx, out)
		}
	})
}

// Ack acknowledges alerts that were sent or dropped, so no one sends them
// again.
func (q *AlertQueue) Ack(ctx context.Context, refs ...string) error {
	for i, ids := range q.group(refs) {
		if err := q.streams[i].Ack(ctx, ids...); err != nil {
			return fmt.Errorf("acknowledge alerts: %w", err)
		}
	}
	return nil
}

// AckIn adds the acknowledgement of alerts to the transaction p, so that
// moving them elsewhere in their stream's slot (a held list under Tag) and
// taking them off the queue happen together. In a transaction, every
// alert must come from one stream (one Tag).
func (q *AlertQueue) AckIn(ctx context.Context, p redis.Pipeliner, refs ...string) {
	for i, ids := range q.group(refs) {
		q.streams[i].AckIn(ctx, p, ids...)
	}
}

// Renew keeps alerts this process still holds from being claimed by
// another (see queue.Stream.Renew).
func (q *AlertQueue) Renew(ctx context.Context, refs ...string) error {
	for i, ids := range q.group(refs) {
		if err := q.streams[i].Renew(ctx, ids...); err != nil {
			return err
		}
	}
	return nil
}

// Stats reads the queue's length, what is pending and the age of the
// oldest pending alert, over every shard.
func (q *AlertQueue) Stats(ctx context.Context) (queue.Stats, error) {
	var all queue.Stats
	for _, s := range q.streams {
		st, err := s.Stats(ctx)
		if err != nil {
			return all, err
		}
		all.Length += st.Length
		all.Pending += st.Pending
		all.OldestPending = max(all.OldestPending, st.OldestPending)
	}
	return all, nil
}
