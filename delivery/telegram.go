package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
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

// TelegramQueue is the stream of alerts read by the telegram senders.
func TelegramQueue(st *store.Store) string { return st.Key("{tg}", "queue") }

func telegramMarker(st *store.Store, sub, story string) string {
	return st.Key("{tg}", "sent", sub, story)
}

// The fields of an alert's stream entry: telegramScript writes them and
// decodeAlert reads them, and nothing else in Herald knows them.
const (
	fieldSub     = "sub"
	fieldChat    = "chat"
	fieldArticle = "article"
	fieldTopic   = "topic"
)

// telegramScript sets the (subscriber, story) marker and queues the alert
// in one step. KEYS: marker, queue. ARGV: marker TTL (s), sub, chat,
// article, topic.
var telegramScript = redis.NewScript(`
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', tonumber(ARGV[1])) then
  redis.call('XADD', KEYS[2], '*', '` + fieldSub + `', ARGV[2], '` + fieldChat + `', ARGV[3], '` + fieldArticle + `', ARGV[4], '` + fieldTopic + `', ARGV[5])
  return 1
end
return 0
`)

func alertArgs(ttl int64, a Alert) []any {
	return []any{ttl, a.Sub, strconv.FormatInt(a.ChatID, 10), a.Article, a.Topic}
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

// AlertQueue is the Telegram alert queue as one sender reads it: entries
// come out decoded, and are acknowledged through it once sent, dropped or
// moved elsewhere.
type AlertQueue struct {
	s *queue.Stream
}

// NewAlertQueue opens the queue for consumer (unique per process). An
// alert left unacknowledged with a consumer for claimAfter (0: 30 s) is
// taken over by another.
func NewAlertQueue(st *store.Store, consumer string, claimAfter time.Duration, log *slog.Logger) *AlertQueue {
	if log == nil {
		log = slog.Default()
	}
	return &AlertQueue{s: &queue.Stream{Redis: st.Redis, Key: TelegramQueue(st), Group: TelegramGroup,
		Consumer: consumer, ClaimAfter: claimAfter, Log: log}}
}

// Ensure creates the queue and its group if they do not exist.
func (q *AlertQueue) Ensure(ctx context.Context) error { return q.s.Ensure(ctx) }

// Consume reads alerts until ctx ends, as queue.Stream.Consume does: room
// says how many this process may take now (blocking while it has no room),
// take gets them. An entry that is not an alert is acknowledged and
// logged, never handed on.
func (q *AlertQueue) Consume(ctx context.Context, room func(context.Context) int, take func(context.Context, []Queued)) error {
	return q.s.Consume(ctx, room, func(ctx context.Context, msgs []queue.Message) {
		out := make([]Queued, 0, len(msgs))
		var junk []string
		for _, m := range msgs {
			a, ok := decodeAlert(m)
			if !ok {
				junk = append(junk, m.ID)
				continue
			}
			out = append(out, Queued{ID: m.ID, Alert: a, Claimed: m.Retries > 0})
		}
		if len(junk) > 0 {
			q.s.Log.Warn("dropping alert queue entries that are not alerts", "entries", junk)
			if err := q.Ack(context.WithoutCancel(ctx), junk...); err != nil {
				q.s.Log.Warn("cannot drop entries that are not alerts", "err", err)
			}
		}
		if len(out) > 0 {
			take(ctx, out)
		}
	})
}

// Ack acknowledges alerts that were sent or dropped, so no one sends them
// again.
func (q *AlertQueue) Ack(ctx context.Context, ids ...string) error {
	if err := q.s.Ack(ctx, ids...); err != nil {
		return fmt.Errorf("acknowledge alerts: %w", err)
	}
	return nil
}

// AckIn adds the acknowledgement of ids to the transaction p, so that
// moving alerts elsewhere in the {tg} slot (a held list) and taking them
// off the queue happen together.
func (q *AlertQueue) AckIn(ctx context.Context, p redis.Pipeliner, ids ...string) {
	q.s.AckIn(ctx, p, ids...)
}

// Renew keeps alerts this process still holds from being claimed by
// another (see queue.Stream.Renew).
func (q *AlertQueue) Renew(ctx context.Context, ids ...string) error { return q.s.Renew(ctx, ids...) }

// Stats reads the queue's length, what is pending and the age of the
// oldest pending alert.
func (q *AlertQueue) Stats(ctx context.Context) (queue.Stats, error) { return q.s.Stats(ctx) }
