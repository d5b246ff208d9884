package bot

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/delivery"
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
	// Trouble, when set, is told of each send that went wrong in a way an
	// operator should see (metrics): one of the Trouble* kinds.
	Trouble func(kind string)

	lim   *Limiter
	queue *delivery.AlertQueue

	artMu    sync.Mutex
	artCache map[string]cachedArticle

	mu       sync.Mutex
	cond     *sync.Cond
	chats    map[int64]*chatQueue
	ready    []int64
	inHand   map[string]struct{}
	marks    map[string]sendMark // what earlier sends of entries in hand left
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
func (s *Sender) Stream() *delivery.AlertQueue {
	return delivery.NewAlertQueue(s.st, s.Consumer, s.ClaimAfter, s.log)
}

// Run sends alerts until ctx ends. On the way out it finishes nothing new;
// alerts in hand stay pending in the group and are claimed again.
func (s *Sender) Run(ctx context.Context) error {
	// Zero values from a caller mean the defaults.
	s.ClaimAfter = cmp.Or(s.ClaimAfter, 30*time.Second)
	s.queue = s.Stream()
	for {
		err := s.queue.Ensure(ctx)
		if err == nil {
			break
		}
		s.log.Warn("cannot open the alert queue; retrying", "err", err)
		if !sleep(ctx, time.Second) {
			return ctx.Err()
		}
	}
	s.FlushEvery = cmp.Or(s.FlushEvery, 2*time.Second)
	s.MaxInHand = cmp.Or(s.MaxInHand, 4096)
	s.MaxGather = cmp.Or(s.MaxGather, 10)
	s.mu.Lock()
	s.cond = sync.NewCond(&s.mu)
	s.chats = map[int64]*chatQueue{}
	s.inHand = map[string]struct{}{}
	s.marks = map[string]sendMark{}
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

// read takes alerts from the queue (new ones, and ones a dead consumer
// left) while there is room in hand, until ctx ends.
func (s *Sender) read(ctx context.Context) {
	room := func(context.Context) int {
		s.mu.Lock()
		defer s.mu.Unlock()
		for len(s.inHand) >= s.MaxInHand && !s.stopping {
			s.cond.Wait()
		}
		// One read of at most 500 keeps Redis's answer small.
		return min(s.MaxInHand-len(s.inHand), 500)
	}
	_ = s.queue.Consume(ctx, room, func(_ context.Context, got []delivery.Queued) {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, m := range got {
			if _, dup := s.inHand[m.ID]; dup {
				continue
			}
			s.log.Debug("alert read", "claimed", m.Claimed, "entry", m.ID, "chat_id", m.ChatID, "article", m.Article)
			s.inHand[m.ID] = struct{}{}
			q := s.chats[m.ChatID]
			if q == nil {
				q = &chatQueue{}
				s.chats[m.ChatID] = q
			}
			q.items = append(q.items, entry{id: m.ID, al: m.Alert})
			s.scheduleLocked(m.ChatID, q)
		}
		s.pruneLocked()
	})
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
					delete(s.marks, e.id)
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
		delete(s.marks, id)
	}
	s.mu.Unlock()
}

// markOf is what earlier sends of an entry left.
func (s *Sender) markOf(id string) sendMark {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.marks[id]
}

// remember keeps p's mark for its entries' next attempt.
func (s *Sender) remember(p pending) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rememberLocked(p)
}

func (s *Sender) rememberLocked(p pending) {
	for _, id := range p.ids {
		if _, ok := s.inHand[id]; ok {
			s.marks[id] = p.sendMark
		}
	}
}

// Kinds of trouble a Sender reports through Trouble.
const (
	// TroubleUnreadable: Telegram answered HTTP 200 with a body that does
	// not decode. The message counts as sent.
	TroubleUnreadable = "unreadable"
	// TroubleUnsure: no answer came after the request was written, so
	// Telegram may have the message. It is sent again once.
	TroubleUnsure = "unsure"
	// TroubleUnsureAgain: the second try ended with no answer too. The
	// message counts as sent rather than risk a third copy.
	TroubleUnsureAgain = "unsure_again"
	// TroubleRefused: Telegram refused a message for its form (a 400 that
	// is not about the chat). It is sent again as plain text.
	TroubleRefused = "refused"
	// TroubleDropped: the plain text was refused too; the alert is dropped.
	TroubleDropped = "dropped"
)

func (s *Sender) trouble(kind string) {
	if s.Trouble != nil {
		s.Trouble(kind)
	}
}

// ack takes finished alerts off the queue. A failure only means they
// may be sent again once claimed: nothing is lost.
func (s *Sender) ack(ctx context.Context, ids []string) {
	if len(ids) == 0 {
		return
	}
	if err := s.queue.Ack(context.WithoutCancel(ctx), ids...); err != nil {
		s.log.Warn("alert ack failed; it may be sent again", "err", err)
	}
}

// keepAlive renews the claim on alerts in hand, so that alerts waiting
// for a slow chat are not taken over by another process as if this one
// had died.
func (s *Sender) keepAlive(ctx context.Context) {
	for sleep(ctx, s.ClaimAfter/3) {
		s.mu.Lock()
		ids := make([]string, 0, len(s.inHand))
		for id := range s.inHand {
			ids = append(ids, id)
		}
		s.mu.Unlock()
		if err := s.queue.Renew(ctx, ids...); err != nil && ctx.Err() == nil {
			s.log.Warn("cannot renew the claim on alerts in hand", "err", err)
		}
	}
}
