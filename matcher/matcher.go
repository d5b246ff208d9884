// Package matcher reads new articles from the article stream, finds the
// subscribers whose topics match, and queues a delivery for each. Its index
// of topics is loaded from Redis at start and kept in step by following the
// stream of subscriber changes.
package matcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/queue"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/watcher"
)

// sep joins a subscriber id and its topic into one index entry id.
const sep = "\x1f"

// Matcher is the matching stage.
type Matcher struct {
	st   *store.Store
	subs *subscriptions.Store
	log  *slog.Logger

	mu    sync.RWMutex
	idx   *subscriptions.Index
	known map[string]target // subscriber id → where its deliveries go

	// Consumer names this process in the stream's consumer group.
	Consumer string
	// ClaimAfter is the stream's ClaimAfter (0: the queue's default).
	ClaimAfter time.Duration
	// Matched, when set, is told of each delivery queued (metrics).
	Matched func(kind string)
}

type target struct {
	kind   string
	chatID int64
	topics []string
}

// New returns a Matcher.
func New(st *store.Store, subs *subscriptions.Store, log *slog.Logger) *Matcher {
	if log == nil {
		log = slog.Default()
	}
	return &Matcher{st: st, subs: subs, log: log, idx: subscriptions.NewIndex(nil), known: map[string]target{}, Consumer: "matcher"}
}

// Load reads every subscriber into the index and returns the id of the
// change stream it is current with.
func (m *Matcher) Load(ctx context.Context) (string, error) {
	last := "0-0"
	xs, err := m.st.Redis.XRevRangeN(ctx, m.subs.ChangesKey(), "+", "-", 1).Result()
	if err != nil {
		return "", fmt.Errorf("read change stream: %w", err)
	}
	if len(xs) > 0 {
		last = xs[0].ID
	}
	started := time.Now()
	// Count word frequencies over recent articles so each AND query is filed
	// under its rarest term; with no articles yet the index guesses.
	freq := subscriptions.NewFrequencies()
	if recent, err := watcher.Recent(ctx, m.st, 2000); err == nil {
		for _, a := range recent {
			freq.Add(subscriptions.NewDoc(a.Title, a.URL, a.Summary+"\n\n"+a.Text))
		}
	}
	m.mu.Lock()
	if freq.Docs() >= 50 {
		m.idx = subscriptions.NewIndex(freq)
	} else {
		m.idx = subscriptions.NewIndex(nil)
	}
	m.known = map[string]target{}
	m.mu.Unlock()
	n := 0
	err = m.subs.Scan(ctx, func(s *subscriptions.Subscriber) error {
		m.apply(s)
		n++
		return nil
	})
	if err != nil {
		return "", err
	}
	m.log.Info("subscriptions loaded", "subscribers", n, "took", time.Since(started).Round(time.Millisecond))
	return last, nil
}

// apply puts a subscriber's current topics into the index (nil removes it).
func (m *Matcher) apply(s *subscriptions.Subscriber) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := ""
	if s != nil {
		id = s.ID
	}
	m.removeLocked(id)
	if s == nil || !s.Active() {
		return
	}
	t := target{kind: s.Kind, chatID: s.ChatID}
	for _, topic := range s.Topics {
		q, err := subscriptions.Parse(topic)
		if err != nil {
			m.log.Warn("stored topic no longer parses", "subscriber", s.ID, "topic", topic, "err", err)
			continue
		}
		m.idx.Add(s.ID+sep+topic, q)
		t.topics = append(t.topics, topic)
	}
	m.known[s.ID] = t
}

func (m *Matcher) removeLocked(id string) {
	t, ok := m.known[id]
	if !ok {
		return
	}
	for _, topic := range t.topics {
		m.idx.Remove(id + sep + topic)
	}
	delete(m.known, id)
}

// Follow applies subscriber changes after the stream id from until ctx ends.
func (m *Matcher) Follow(ctx context.Context, from string) error {
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		res, err := m.st.Redis.XRead(ctx, &redis.XReadArgs{
			Streams: []string{m.subs.ChangesKey(), from}, Count: 500, Block: time.Second,
		}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if backoff == 0 {
				m.log.Warn("cannot follow subscriber changes; retrying", "err", err)
			}
			backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		for _, st := range res {
			for _, x := range st.Messages {
				from = x.ID
				id, _ := x.Values["sub"].(string)
				if id == "" {
					continue
				}
				s, err := m.subs.Get(ctx, id)
				switch {
				case errors.Is(err, subscriptions.ErrNotFound):
					m.apply(&subscriptions.Subscriber{ID: id})
				case err != nil:
					m.log.Warn("cannot read changed subscriber", "subscriber", id, "err", err)
				default:
					m.apply(s)
				}
			}
		}
	}
	return ctx.Err()
}

// Stream is the article stream as this matcher reads it.
func (m *Matcher) Stream() *queue.Stream {
	return &queue.Stream{
		Redis: m.st.Redis, Key: watcher.StreamKey(m.st), Group: "matcher",
		Consumer: m.Consumer, ClaimAfter: m.ClaimAfter, Log: m.log,
	}
}

// Run loads the subscriptions, follows their changes and matches articles
// until ctx ends.
func (m *Matcher) Run(ctx context.Context) error {
	var from string
	for attempt := 0; ; attempt++ {
		var err error
		if from, err = m.Load(ctx); err == nil {
			break
		}
		if attempt == 0 {
			m.log.Warn("cannot load subscriptions; retrying until Redis answers", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	s := m.Stream()
	for {
		if err := s.Ensure(ctx); err == nil {
			break
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	go m.Follow(ctx, from)
	return s.Run(ctx, func(ctx context.Context, msg queue.Message) error {
		return m.Handle(ctx, msg.Get("article"))
	})
}

// Handle matches one article and queues its deliveries. It is safe to call
// twice for the same article: deliveries are idempotent.
func (m *Matcher) Handle(ctx context.Context, articleID string) error {
	raw, err := m.st.Redis.Get(ctx, watcher.ArticleKey(m.st, articleID)).Bytes()
	if errors.Is(err, redis.Nil) {
		m.log.Warn("article expired before matching", "article", articleID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read article %s: %w", articleID, err)
	}
	var a article.Article
	if err := json.Unmarshal(raw, &a); err != nil {
		m.log.Warn("article unreadable", "article", articleID, "err", err)
		return nil
	}
	story := a.StoryID
	if story == "" {
		story = a.ID
	}
	doc := subscriptions.NewDoc(a.Title, a.URL, a.Summary+"\n\n"+a.Text)
	m.mu.RLock()
	hits := m.idx.Match(doc)
	type hit struct {
		t     target
		topic string
	}
	first := map[string]hit{}
	for _, h := range hits {
		sub, topic, _ := strings.Cut(h, sep)
		if _, ok := first[sub]; ok {
			continue
		}
		first[sub] = hit{m.known[sub], topic}
	}
	m.mu.RUnlock()
	for sub, h := range first {
		switch h.t.kind {
		case subscriptions.KindTelegram:
			ok, err := delivery.EnqueueTelegram(ctx, m.st, story, delivery.Alert{Sub: sub, ChatID: h.t.chatID, Article: a.ID, Topic: h.topic})
			if err != nil {
				return err
			}
			if ok && m.Matched != nil {
				m.Matched(h.t.kind)
			}
		case subscriptions.KindEmail:
			ok, err := delivery.EnqueueDigest(ctx, m.st, sub, story, delivery.Item{Article: a.ID, Topic: h.topic, At: time.Now().UTC()})
			if err != nil {
				return err
			}
			if ok && m.Matched != nil {
				m.Matched(h.t.kind)
			}
		}
	}
	if len(first) > 0 {
		m.log.Info("article matched", "article", a.ID, "title", a.Title, "subscribers", len(first))
	}
	return nil
}
