package bot

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/queue"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
)

// Sender delivers queued alerts. Any number of Senders, in any number of
// processes, read the alert stream through one consumer group and share
// Telegram's limits through Redis (see Limiter). Inside a process a pool of
// workers sends to many chats at once, one message at a time per chat; the
// alerts waiting for a chat go out gathered in one message.
type Sender struct {
	st   *store.Store
	subs *subscriptions.Store
	tr   Transport
	log  *slog.Logger

	// Summarize gives the summary shown in an alert; the default takes the
	// article's first sentences.
	Summarize func(ctx context.Context, a *article.Article, topic string) string
	// Rate is the most messages a second for the whole bot, across every
	// process.
	Rate float64
	// Consumer names this process in the queue's consumer group.
	Consumer string
	// Sent, when set, is told of every message sent (metrics, the demo).
	Sent func(chatID int64, html string)
	// Now is the clock of pauses, quiet hours and round-ups.
	Now func() time.Time

	// Workers is how many messages this process sends at once (default 64).
	Workers int
	// MaxGather caps the alerts gathered into one message (default 10).
	MaxGather int
	// MaxInHand caps the alerts this process holds read but not finished
	// (default 4096); more in hand gathers more per chat.
	MaxInHand int
	// ClaimAfter is how long an alert may stay with a dead process before
	// another takes it (default 30 s).
	ClaimAfter time.Duration
	// FlushEvery is how often held alerts (round-ups, quiet hours) are
	// looked at (default 2 s).
	FlushEvery time.Duration

	lim *Limiter

	artMu    sync.Mutex
	artCache map[string]cachedArticle

	mu       sync.Mutex
	cond     *sync.Cond
	chats    map[int64]*chatQueue
	ready    []int64
	inHand   map[string]struct{}
	stopping bool
}

// entry is one alert read from the stream.
type entry struct {
	id string
	al delivery.Alert
}

// chatQueue is what this process holds for one chat.
type chatQueue struct {
	items    []entry
	busy     bool      // a worker is sending to the chat
	queued   bool      // in the ready list or on a timer
	notAfter time.Time // earliest next send, as far as this process knows
	attempts int       // failed attempts in a row
}

// NewSender returns a Sender through tr.
func NewSender(st *store.Store, subs *subscriptions.Store, tr Transport, log *slog.Logger) *Sender {
	if log == nil {
		log = slog.Default()
	}
	s := &Sender{st: st, subs: subs, tr: tr, log: log, Rate: 25, Consumer: "sender", Now: time.Now,
		Workers: 64, MaxGather: 10, MaxInHand: 4096, ClaimAfter: 30 * time.Second, FlushEvery: 2 * time.Second}
	return s
}

// Stream is the alert queue as this sender reads it.
func (s *Sender) Stream() *queue.Stream {
	return &queue.Stream{Redis: s.st.Redis, Key: delivery.TelegramQueue(s.st), Group: "telegram", Consumer: s.Consumer, Log: s.log}
}

// Run sends alerts until ctx ends. On the way out it finishes nothing new;
// alerts in hand stay pending in the group and are claimed again.
func (s *Sender) Run(ctx context.Context) error {
	q := s.Stream()
	for {
		err := q.Ensure(ctx)
		if err == nil {
			break
		}
		s.log.Warn("cannot open the alert queue; retrying", "err", err)
		if !sleep(ctx, time.Second) {
			return ctx.Err()
		}
	}
	// Zero values from a caller mean the defaults.
	s.ClaimAfter = cmp.Or(s.ClaimAfter, 30*time.Second)
	s.FlushEvery = cmp.Or(s.FlushEvery, 2*time.Second)
	s.MaxInHand = cmp.Or(s.MaxInHand, 4096)
	s.MaxGather = cmp.Or(s.MaxGather, 10)
	s.mu.Lock()
	s.cond = sync.NewCond(&s.mu)
	s.chats = map[int64]*chatQueue{}
	s.inHand = map[string]struct{}{}
	s.ready = nil
	s.stopping = false
	s.mu.Unlock()
	s.lim = NewLimiter(s.st, s.Rate)

	var wg sync.WaitGroup
	goRun := func(fn func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); fn(ctx) }()
	}
	for range max(s.Workers, 1) {
		goRun(s.work)
	}
	goRun(s.flushLoop)
	goRun(s.keepAlive)
	// Wake the workers when ctx ends so they see it.
	go func() {
		<-ctx.Done()
		s.mu.Lock()
		s.stopping = true
		s.cond.Broadcast()
		s.mu.Unlock()
	}()
	s.read(ctx)
	wg.Wait()
	return ctx.Err()
}

// read takes alerts from the stream (new ones, and ones a dead consumer
// left) while there is room in hand, until ctx ends.
func (s *Sender) read(ctx context.Context) {
	key := delivery.TelegramQueue(s.st)
	var lastClaim time.Time
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		s.mu.Lock()
		for len(s.inHand) >= s.MaxInHand && !s.stopping {
			s.cond.Wait()
		}
		room := s.MaxInHand - len(s.inHand)
		s.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		var got []redis.XMessage
		var err error
		source := "new"
		if time.Since(lastClaim) > s.ClaimAfter/4 {
			source = "claimed"
			lastClaim = time.Now()
			got, _, err = s.st.Redis.XAutoClaim(ctx, &redis.XAutoClaimArgs{
				Stream: key, Group: "telegram", Consumer: s.Consumer,
				MinIdle: s.ClaimAfter, Start: "0-0", Count: int64(min(room, 500)),
			}).Result()
			if errors.Is(err, redis.Nil) {
				err = nil
			}
		}
		if err == nil && len(got) == 0 {
			source = "new"
			var res []redis.XStream
			res, err = s.st.Redis.XReadGroup(ctx, &redis.XReadGroupArgs{
				Group: "telegram", Consumer: s.Consumer, Streams: []string{key, ">"},
				Count: int64(min(room, 500)), Block: time.Second,
			}).Result()
			if errors.Is(err, redis.Nil) {
				err = nil
			}
			for _, x := range res {
				got = append(got, x.Messages...)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if strings.Contains(err.Error(), "NOGROUP") {
				_ = s.Stream().Ensure(ctx)
			}
			backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
			s.log.Warn("alert queue read failed", "err", err, "retry_in", backoff)
			sleep(ctx, backoff)
			continue
		}
		backoff = 0
		var junk []string
		s.mu.Lock()
		for _, m := range got {
			e, ok := parseEntry(m)
			if !ok {
				junk = append(junk, m.ID)
				continue
			}
			if _, dup := s.inHand[e.id]; dup {
				continue
			}
			s.log.Debug("alert read", "source", source, "entry", e.id, "chat_id", e.al.ChatID, "article", e.al.Article)
			s.inHand[e.id] = struct{}{}
			q := s.chats[e.al.ChatID]
			if q == nil {
				q = &chatQueue{}
				s.chats[e.al.ChatID] = q
			}
			q.items = append(q.items, e)
			s.scheduleLocked(e.al.ChatID, q)
		}
		s.pruneLocked()
		s.mu.Unlock()
		if len(junk) > 0 {
			s.ack(ctx, junk)
		}
	}
}

func parseEntry(m redis.XMessage) (entry, bool) {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	chat, err := strconv.ParseInt(str("chat"), 10, 64)
	if err != nil || chat == 0 || str("sub") == "" || str("article") == "" {
		return entry{}, false
	}
	return entry{id: m.ID, al: delivery.Alert{Sub: str("sub"), ChatID: chat, Article: str("article"), Topic: str("topic")}}, true
}

// scheduleLocked makes a chat with alerts ready for a worker, now or when
// the chat may next be written to.
func (s *Sender) scheduleLocked(chat int64, q *chatQueue) {
	if q.busy || q.queued || len(q.items) == 0 {
		return
	}
	q.queued = true
	if d := time.Until(q.notAfter); d > 0 {
		time.AfterFunc(d, func() {
			s.mu.Lock()
			s.ready = append(s.ready, chat)
			s.cond.Signal()
			s.mu.Unlock()
		})
		return
	}
	s.ready = append(s.ready, chat)
	s.cond.Signal()
}

// pruneLocked forgets idle chats whose pacing no longer matters.
func (s *Sender) pruneLocked() {
	if len(s.chats) < 4*s.MaxInHand {
		return
	}
	now := time.Now()
	for id, q := range s.chats {
		if len(q.items) == 0 && !q.busy && !q.queued && now.After(q.notAfter) {
			delete(s.chats, id)
		}
	}
}

// work serves ready chats until ctx ends.
func (s *Sender) work(ctx context.Context) {
	for {
		s.mu.Lock()
		for len(s.ready) == 0 && !s.stopping {
			s.cond.Wait()
		}
		if s.stopping {
			s.mu.Unlock()
			return
		}
		chat := s.ready[0]
		s.ready = s.ready[1:]
		q := s.chats[chat]
		if q == nil || q.busy {
			s.mu.Unlock()
			continue
		}
		q.queued, q.busy = false, true
		items := q.items
		q.items = nil
		s.mu.Unlock()

		rest, wait, next := s.serve(ctx, chat, items)

		s.mu.Lock()
		q.busy = false
		if !next.IsZero() {
			q.notAfter = next
		}
		if len(rest) > 0 {
			q.attempts++
			q.notAfter = time.Now().Add(wait)
			if q.attempts > 6 || ctx.Err() != nil {
				// Give these back to the group: another attempt comes when
				// they are claimed again after ClaimAfter.
				for _, e := range rest {
					delete(s.inHand, e.id)
				}
				q.attempts = 0
				s.log.Warn("giving alerts back to the queue after repeated failures", "chat_id", chat, "alerts", len(rest))
			} else {
				q.items = append(rest, q.items...)
			}
		} else {
			q.attempts = 0
		}
		s.scheduleLocked(chat, q)
		s.cond.Broadcast() // the reader may have room again
		s.mu.Unlock()
	}
}

// done forgets finished alerts.
func (s *Sender) done(ids []string) {
	s.mu.Lock()
	for _, id := range ids {
		delete(s.inHand, id)
	}
	s.mu.Unlock()
}

func (s *Sender) ack(ctx context.Context, ids []string) {
	if len(ids) == 0 {
		return
	}
	if err := s.st.Redis.XAck(context.WithoutCancel(ctx), delivery.TelegramQueue(s.st), "telegram", ids...).Err(); err != nil {
		s.log.Warn("alert ack failed; it may be sent again", "err", err)
	}
}

// keepAlive renews the claim on alerts in hand, so that alerts waiting
// for a slow chat are not taken over by another process as if this one
// had died.
func (s *Sender) keepAlive(ctx context.Context) {
	key := delivery.TelegramQueue(s.st)
	for sleep(ctx, s.ClaimAfter/3) {
		s.mu.Lock()
		ids := make([]string, 0, len(s.inHand))
		for id := range s.inHand {
			ids = append(ids, id)
		}
		s.mu.Unlock()
		for chunk := range slices.Chunk(ids, 500) {
			err := s.st.Redis.XClaimJustID(ctx, &redis.XClaimArgs{
				Stream: key, Group: "telegram", Consumer: s.Consumer, MinIdle: 0, Messages: chunk,
			}).Err()
			if err != nil && ctx.Err() == nil {
				s.log.Warn("cannot renew the claim on alerts in hand", "err", err)
			}
		}
	}
}
