package bot

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/queue"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/summary"
)

// Transport puts one HTML message into a chat.
type Transport interface {
	Send(ctx context.Context, chatID int64, html string, link string) error
}

// AlertTransport is a Transport that can also put a "Mute topic" button
// (callback data mute) under an alert; the sender uses it when it can.
type AlertTransport interface {
	SendAlert(ctx context.Context, chatID int64, html, link, mute string) error
}

// Errors a Transport returns for the sender to act on.
var (
	ErrBlocked  = errors.New("chat blocked the bot or no longer exists")
	ErrBadInput = errors.New("telegram refused the message")
)

// RetryAfterError asks to wait before sending to the chat again.
type RetryAfterError struct{ After time.Duration }

func (e *RetryAfterError) Error() string { return fmt.Sprintf("retry after %s", e.After) }

// MigratedError says a group became a supergroup with a new id.
type MigratedError struct{ To int64 }

func (e *MigratedError) Error() string { return fmt.Sprintf("chat migrated to %d", e.To) }

// APITransport sends through the Telegram Bot API.
type APITransport struct {
	API *tg.Bot
	// Previews shows link previews under alerts.
	Previews bool
	// Paid sends with allow_paid_broadcast, which lifts the bot-wide limit
	// to 1,000 messages a second for a fee in Telegram Stars.
	Paid bool
}

// Send implements Transport.
func (t *APITransport) Send(ctx context.Context, chatID int64, html, link string) error {
	return t.SendAlert(ctx, chatID, html, link, "")
}

// SendAlert implements AlertTransport.
func (t *APITransport) SendAlert(ctx context.Context, chatID int64, html, link, mute string) error {
	p := &tg.SendMessageParams{ChatID: chatID, Text: html, ParseMode: models.ParseModeHTML, AllowPaidBroadcast: t.Paid}
	if !t.Previews {
		p.LinkPreviewOptions = &models.LinkPreviewOptions{IsDisabled: tg.True()}
	}
	var row []models.InlineKeyboardButton
	if u := safeURL(link); u != "" {
		row = append(row, models.InlineKeyboardButton{Text: "Open article", URL: u})
	}
	if mute != "" {
		row = append(row, models.InlineKeyboardButton{Text: "🔕 Mute topic", CallbackData: mute})
	}
	if len(row) > 0 {
		p.ReplyMarkup = &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{row}}
	}
	_, err := t.API.SendMessage(ctx, p)
	return classify(err)
}

// classify turns a Bot API error into the sender's errors.
func classify(err error) error {
	var tooMany *tg.TooManyRequestsError
	var migrated *tg.MigrateError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tooMany):
		return &RetryAfterError{After: time.Duration(max(tooMany.RetryAfter, 1)) * time.Second}
	case errors.As(err, &migrated):
		return &MigratedError{To: int64(migrated.MigrateToChatID)}
	case errors.Is(err, tg.ErrorForbidden):
		return fmt.Errorf("%w: %v", ErrBlocked, err)
	case errors.Is(err, tg.ErrorBadRequest) && strings.Contains(strings.ToLower(err.Error()), "chat not found"):
		return fmt.Errorf("%w: %v", ErrBlocked, err)
	case errors.Is(err, tg.ErrorBadRequest):
		return fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	return err
}

// NewHTTPClient is the client for the Bot API: enough idle connections to
// the one host for a pool of senders working at 1,000 messages a second.
func NewHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 256        // default 100 is shared by every host
	tr.MaxIdleConnsPerHost = 128 // default 2 would reopen a connection per message
	tr.IdleConnTimeout = 90 * time.Second
	// Long polls wait up to a minute; 75 s also bounds a hung send.
	return &http.Client{Transport: tr, Timeout: 75 * time.Second}
}

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

// HeldKey is the list of alerts held for a subscriber's next round-up or
// the end of its quiet hours (JSON items, oldest first).
func HeldKey(st *store.Store, sub string) string { return st.Key("{tg}", "held", sub) }

// DueKey is the sorted set of subscribers with held alerts, scored by the
// time (ms) their round-up is due.
func DueKey(st *store.Store) string { return st.Key("{tg}", "due") }

// MovedKey maps a group that became a supergroup to its new chat id, so
// alerts queued before the move follow it.
func MovedKey(st *store.Store, chatID int64) string {
	return st.Key("{tg}", "moved", strconv.FormatInt(chatID, 10))
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

// pending is an alert ready to be put in a message, with the stream
// entries it answers.
type pending struct {
	Item
	ids []string
}

// serve sends what waits for one chat. It returns the alerts to try again
// after wait, and the earliest time of the chat's next message.
func (s *Sender) serve(ctx context.Context, chat int64, items []entry) (rest []entry, wait time.Duration, next time.Time) {
	finished := func(ids []string) {
		s.ack(ctx, ids)
		s.done(ids)
	}
	allIDs := func(es []entry) []string {
		ids := make([]string, len(es))
		for i, e := range es {
			ids[i] = e.id
		}
		return ids
	}
	sub, err := s.subscriber(ctx, items[0].al.Sub, chat)
	if err != nil {
		return items, 2 * time.Second, time.Time{}
	}
	now := s.Now()
	if sub == nil || !sub.Active() || pausedNow(sub, now) {
		finished(allIDs(items))
		return nil, 0, time.Time{}
	}
	// An alert queued before the chat last started over (/forget, then
	// /start) belongs to the old subscription.
	var fresh []entry
	var stale []string
	for _, e := range items {
		if ms, ok := idMillis(e.id); ok && !sub.Created.IsZero() && ms < sub.Created.UnixMilli() {
			stale = append(stale, e.id)
			continue
		}
		fresh = append(fresh, e)
	}
	finished(stale)
	if len(fresh) == 0 {
		return nil, 0, time.Time{}
	}
	arts, err := s.articles(ctx, fresh)
	if err != nil {
		return fresh, 2 * time.Second, time.Time{}
	}
	var send []pending
	var drop []string
	var hold []entry
	release := releaseAt(sub, now)
	for _, e := range fresh {
		a := arts[e.al.Article]
		topic := ""
		if a != nil {
			topic = liveTopic(sub, a, e.al.Topic)
		}
		switch {
		case a == nil || topic == "":
			drop = append(drop, e.id)
		case release.After(now):
			e.al.Topic = topic
			hold = append(hold, e)
		default:
			send = appendUnique(send, pending{Item: Item{Article: a, Topic: topic}, ids: []string{e.id}})
		}
	}
	finished(drop)
	if len(hold) > 0 {
		if err := s.hold(ctx, sub.ID, hold, release); err != nil {
			s.log.Warn("cannot hold alerts for a round-up", "subscriber", sub.ID, "err", err)
			return append(hold, entriesOf(send, fresh)...), 2 * time.Second, time.Time{}
		}
		s.done(allIDs(hold))
	}
	if len(send) == 0 {
		return nil, 0, time.Time{}
	}
	s.summarize(ctx, send)
	n, res := s.deliver(ctx, sub, send, false, s.MaxGather)
	for _, p := range send[:n] {
		s.done(p.ids) // acked as they were sent
	}
	if n == len(send) || res.gone {
		for _, p := range send[n:] {
			finished(p.ids)
		}
		return nil, 0, res.next
	}
	return entriesOf(send[n:], fresh), res.wait, res.next
}

// entriesOf maps pending alerts back to their stream entries.
func entriesOf(ps []pending, es []entry) []entry {
	want := map[string]bool{}
	for _, p := range ps {
		for _, id := range p.ids {
			want[id] = true
		}
	}
	var out []entry
	for _, e := range es {
		if want[e.id] {
			out = append(out, e)
		}
	}
	return out
}

// appendUnique adds p unless its story is already there: the same story
// is never sent twice to a chat, gathered or not.
func appendUnique(ps []pending, p pending) []pending {
	for i := range ps {
		if ps[i].Article.ID == p.Article.ID || (p.Article.StoryID != "" && ps[i].Article.StoryID == p.Article.StoryID) {
			ps[i].ids = append(ps[i].ids, p.ids...)
			return ps
		}
	}
	return append(ps, p)
}

// liveTopic returns the topic an alert should show: the one that matched
// unless the chat muted or dropped it since, in which case another of its
// live topics that matches the article, or "" to drop the alert.
func liveTopic(sub *subscriptions.Subscriber, a *article.Article, topic string) string {
	live := func(t string) bool {
		return slices.Contains(sub.Topics, t) && !slices.Contains(sub.Muted, t)
	}
	if live(topic) {
		return topic
	}
	doc := subscriptions.NewDoc(a.Title, a.URL, articles.MatchText(a))
	for _, t := range sub.Topics {
		if !live(t) {
			continue
		}
		if q, err := subscriptions.Parse(t); err == nil && q.Match(doc) {
			return t
		}
	}
	return ""
}

// subscriber reads the chat's subscriber, following a group's move to a
// supergroup; nil means there is none any more.
func (s *Sender) subscriber(ctx context.Context, id string, chat int64) (*subscriptions.Subscriber, error) {
	sub, err := s.subs.Get(ctx, id)
	if errors.Is(err, subscriptions.ErrNotFound) {
		to, err := s.st.Redis.Get(ctx, MovedKey(s.st, chat)).Int64()
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		sub, err = s.subs.Get(ctx, subscriptions.TelegramID(to))
		if errors.Is(err, subscriptions.ErrNotFound) {
			return nil, nil
		}
	}
	return sub, err
}

// articleTTL is how long a process reuses an article it read: an article
// goes to many chats at once, and a second's staleness changes no alert.
const articleTTL = time.Second

type cachedArticle struct {
	a  *article.Article
	at time.Time
}

// articles reads the alerts' articles in one round trip, or none when they
// were read in the last articleTTL; an article that expired is missing
// from the map. The articles are shared: they are not to be changed.
func (s *Sender) articles(ctx context.Context, es []entry) (map[string]*article.Article, error) {
	out := map[string]*article.Article{}
	now := time.Now()
	s.artMu.Lock()
	for _, e := range es {
		if c, ok := s.artCache[e.al.Article]; ok && now.Sub(c.at) < articleTTL {
			out[e.al.Article] = c.a
		}
	}
	s.artMu.Unlock()
	var ids []string
	asked := map[string]bool{}
	for _, e := range es {
		if id := e.al.Article; out[id] == nil && !asked[id] {
			asked[id] = true
			ids = append(ids, id)
		}
	}
	as, err := articles.LoadMany(ctx, s.st, ids)
	if err != nil {
		return nil, err
	}
	s.artMu.Lock()
	defer s.artMu.Unlock()
	if s.artCache == nil || len(s.artCache) > 1024 {
		s.artCache = map[string]cachedArticle{}
	}
	for i, a := range as {
		if a == nil {
			s.log.Warn("article expired before its alert", "article", ids[i])
			continue
		}
		out[ids[i]] = a
		s.artCache[ids[i]] = cachedArticle{a: a, at: now}
	}
	return out, nil
}

func (s *Sender) summarize(ctx context.Context, ps []pending) {
	for i := range ps {
		if s.Summarize != nil {
			ps[i].Summary = s.Summarize(ctx, ps[i].Article, ps[i].Topic)
		} else {
			// No shared, cached summariser: the same extractive one, uncached.
			a := ps[i].Article
			ps[i].Summary = summary.Summarize(a.Body(), summary.Options{Sentences: 2, Chars: 600, Title: a.Title})
		}
	}
}

// result is how a run of sends to one chat ended.
type result struct {
	wait time.Duration // try the rest after this
	next time.Time     // the chat's next free time, as booked
	gone bool          // the chat is gone: drop the rest
}

// sendGrace bounds one send to Telegram once shutdown has begun (the whole
// process has 10 s to stop).
const sendGrace = 5 * time.Second

// deliver sends ps to the subscriber's chat, gathering as many as fit into
// each message, and returns how many were delivered. With block it waits
// out the chat's limits; otherwise it returns at the first wait.
func (s *Sender) deliver(ctx context.Context, sub *subscriptions.Subscriber, ps []pending, block bool, gather int) (int, result) {
	chatID := sub.ChatID
	done, attempt, gather := 0, 0, max(gather, 1)
	for done < len(ps) {
		items := make([]Item, 0, min(gather, len(ps)-done))
		for _, p := range ps[done:min(done+gather, len(ps))] {
			items = append(items, p.Item)
		}
		html, n := Gathered(items, s.Now())
		// The message is ready before it asks for a slot, so a slot is
		// never held by a worker with something left to do.
		tk, wait, err := s.lim.Admit(ctx, chatID)
		if err != nil {
			return done, result{wait: time.Second}
		}
		if tk == nil {
			if block && sleep(ctx, wait) {
				continue
			}
			return done, result{wait: wait, next: time.Now().Add(wait)}
		}
		if !tk.Wait(ctx) {
			s.lim.Cancel(tk)
			return done, result{wait: time.Second}
		}
		// A message on its way is finished, not abandoned, when the process
		// is told to stop: Telegram may already have it, and an abandoned
		// one is sent again by whoever claims its entry (the fault suite
		// saw one repeat per worker on SIGTERM).
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendGrace)
		var err2 error
		if at, ok := s.tr.(AlertTransport); ok && n == 1 {
			err2 = at.SendAlert(sctx, chatID, html, items[0].Article.URL, muteData(items[0].Topic))
		} else if n == 1 {
			err2 = s.tr.Send(sctx, chatID, html, items[0].Article.URL)
		} else {
			err2 = s.tr.Send(sctx, chatID, html, "")
		}
		cancel()
		// The send's end, the chat's next time and the acks of what went
		// are written in one call; a 429 or a failure holds the chat.
		var ack []string
		var hold time.Duration
		var ra *RetryAfterError
		var mig *MigratedError
		switch {
		case err2 == nil:
			for _, p := range ps[done : done+n] {
				ack = append(ack, p.ids...)
			}
		case errors.As(err2, &ra):
			hold = ra.After
		case errors.Is(err2, ErrBadInput) && n == 1:
			ack = ps[done].ids // dropped below
		case errors.Is(err2, ErrBlocked), errors.Is(err2, ErrBadInput), errors.As(err2, &mig):
		default:
			hold = min(time.Duration(1<<min(attempt+1, 6))*250*time.Millisecond, 30*time.Second)
		}
		if err := s.lim.Finish(ctx, tk, hold, ack); err != nil {
			s.log.Warn("cannot record a send", "chat_id", chatID, "err", err)
			s.ack(ctx, ack)
		}
		switch {
		case err2 == nil:
			if s.Sent != nil {
				s.Sent(chatID, html)
			}
			for _, p := range ps[done : done+n] {
				s.log.Info("alert sent", "chat_id", chatID, "subscriber", sub.ID, "article", p.Article.ID, "gathered", n)
			}
			done += n
			attempt = 0
		case errors.As(err2, &ra):
			s.log.Warn("telegram asked to slow down", "chat_id", chatID, "retry_after", ra.After)
			if block && sleep(ctx, ra.After) {
				continue
			}
			return done, result{wait: ra.After, next: time.Now().Add(ra.After)}
		case errors.As(err2, &mig):
			s.log.Info("group migrated", "chat_id", chatID, "to", mig.To)
			moved, err := s.migrate(ctx, sub, mig.To)
			if err != nil {
				return done, result{wait: time.Second}
			}
			sub, chatID = moved, mig.To
		case errors.Is(err2, ErrBlocked):
			s.log.Info("chat gone; deactivating", "chat_id", chatID, "subscriber", sub.ID, "err", err2)
			if _, err := s.subs.Update(ctx, sub.ID, func(x *subscriptions.Subscriber) error {
				x.Status = subscriptions.StatusInactive
				return nil
			}); err != nil && !errors.Is(err, subscriptions.ErrNotFound) {
				return done, result{wait: time.Second}
			}
			return done, result{gone: true}
		case errors.Is(err2, ErrBadInput) && n > 1:
			// Something in one of them upset Telegram: send them one by one.
			gather = 1
		case errors.Is(err2, ErrBadInput):
			s.log.Error("telegram refused an alert; dropping it", "chat_id", chatID, "article", ps[done].Article.ID, "err", err2)
			done++
		default:
			if ctx.Err() != nil {
				return done, result{wait: time.Second}
			}
			attempt++
			d := min(time.Duration(1<<min(attempt, 6))*250*time.Millisecond, 30*time.Second)
			s.log.Warn("send failed; retrying", "chat_id", chatID, "err", err2, "retry_in", d)
			if block && attempt < 5 && sleep(ctx, d) {
				continue
			}
			return done, result{wait: d, next: time.Now().Add(d)}
		}
	}
	return done, result{next: time.Now().Add(s.lim.gap(chatID))}
}

// migrate moves a group's subscription to its new supergroup id, and
// leaves a forwarding address for alerts queued to the old one.
func (s *Sender) migrate(ctx context.Context, sub *subscriptions.Subscriber, to int64) (*subscriptions.Subscriber, error) {
	moved := *sub
	moved.ID, moved.ChatID = subscriptions.TelegramID(to), to
	if err := s.subs.Put(ctx, &moved); err != nil {
		return nil, err
	}
	if err := s.st.Redis.Set(ctx, MovedKey(s.st, sub.ChatID), to, delivery.MarkerTTL).Err(); err != nil {
		return nil, err
	}
	if err := s.subs.Delete(ctx, sub.ID); err != nil && !errors.Is(err, subscriptions.ErrNotFound) {
		return nil, err
	}
	return &moved, nil
}

// muteData is the callback data of an alert's "Mute topic" button: a
// short hash of the topic, which stays right when the list changes order.
func muteData(topic string) string { return "mute:" + topicHash(topic) }

func topicHash(topic string) string {
	sum := sha256.Sum256([]byte(topic))
	return hex.EncodeToString(sum[:6])
}

// heldItem is an alert held in HeldKey.
type heldItem struct {
	Article string `json:"a"`
	Topic   string `json:"t"`
}

// holdAlertsScript moves alerts from the stream to a subscriber's held list and
// schedules its round-up, atomically, so a crash neither loses nor doubles
// them. KEYS: held list, due set, stream. ARGV: sub, due ms, group, then
// entry id and item pairs.
var holdAlertsScript = redis.NewScript(`
for i = 4, #ARGV, 2 do
  redis.call('RPUSH', KEYS[1], ARGV[i + 1])
  redis.call('XACK', KEYS[3], ARGV[3], ARGV[i])
end
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1])
return 1
`)

func (s *Sender) hold(ctx context.Context, sub string, es []entry, at time.Time) error {
	args := []any{sub, at.UnixMilli(), "telegram"}
	for _, e := range es {
		b, _ := json.Marshal(heldItem{Article: e.al.Article, Topic: e.al.Topic})
		args = append(args, e.id, string(b))
	}
	err := holdAlertsScript.Run(ctx, s.st.Redis, []string{HeldKey(s.st, sub), DueKey(s.st), delivery.TelegramQueue(s.st)}, args...).Err()
	if err != nil {
		return fmt.Errorf("hold alerts for %s: %w", sub, err)
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

// flushLoop sends round-ups that are due until ctx ends.
func (s *Sender) flushLoop(ctx context.Context) {
	const lease = 2 * time.Minute
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	defer wg.Wait()
	for sleep(ctx, s.FlushEvery) {
		now := s.Now()
		ids, err := claimDueScript.Run(ctx, s.st.Redis, []string{DueKey(s.st)},
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
				if err := s.flush(ctx, id); err != nil && ctx.Err() == nil {
					s.log.Warn("round-up failed; it will be tried again", "subscriber", id, "err", err)
				}
			}()
		}
	}
}

// flush sends a subscriber's held alerts, gathered.
func (s *Sender) flush(ctx context.Context, id string) error {
	key := HeldKey(s.st, id)
	raw, err := s.st.Redis.LRange(ctx, key, 0, 199).Result()
	if err != nil {
		return err
	}
	finish := func(n int, next time.Time) error {
		return finishScript.Run(context.WithoutCancel(ctx), s.st.Redis, []string{key, DueKey(s.st)}, n, id, next.UnixMilli()).Err()
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

// idMillis reads the time part of a stream entry id.
func idMillis(id string) (int64, bool) {
	ms, _, ok := strings.Cut(id, "-")
	n, err := strconv.ParseInt(ms, 10, 64)
	return n, ok && err == nil
}
