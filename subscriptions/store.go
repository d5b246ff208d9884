package subscriptions

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/store"
)

// Kinds of subscriber.
const (
	KindTelegram = "telegram"
	KindEmail    = "email"
)

// Statuses of a subscriber.
const (
	StatusPending      = "pending"      // email not yet confirmed
	StatusActive       = "active"       //
	StatusPaused       = "paused"       //
	StatusUnsubscribed = "unsubscribed" // kept briefly so a late click still finds it
	StatusInactive     = "inactive"     // Telegram chat blocked the bot or is gone
	StatusSuspended    = "suspended"    // email address bounced too often
)

// DefaultMaxTopics is how many topics one subscriber may follow.
const DefaultMaxTopics = 50

var (
	ErrNotFound     = errors.New("no such subscriber")
	ErrTooMany      = errors.New("too many topics")
	ErrDuplicate    = errors.New("already subscribed to that topic")
	ErrNoSuchTopic  = errors.New("no such topic")
	errTopicNewline = errors.New("a topic cannot contain a line break")
)

// Subscriber is one Telegram chat or one email reader, with its topics.
// It is stored as a single Redis hash so a million of them stay small.
type Subscriber struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	ChatID    int64     `json:"chat_id,omitempty"`
	Email     string    `json:"email,omitempty"`
	Topics    []string  `json:"topics"`
	Status    string    `json:"status"`
	Frequency string    `json:"frequency,omitempty"` // email: instant, daily, weekly; telegram: instant, hourly, daily
	Hour      int       `json:"hour"`                // local hour of digests
	TZ        string    `json:"tz,omitempty"`        // IANA zone
	Created   time.Time `json:"created"`
	Bounces   int       `json:"bounces,omitempty"`

	PausedUntil time.Time         `json:"paused_until,omitzero"` // with StatusPaused: zero means until resumed
	Quiet       string            `json:"quiet,omitempty"`       // "HH:MM-HH:MM" local time without alerts
	Muted       []string          `json:"muted,omitempty"`       // topics kept but not delivered
	Lang        string            `json:"lang,omitempty"`        // language of messages to this subscriber
	LinkedTo    string            `json:"linked_to,omitempty"`   // the other channel's subscriber id (Telegram chat ↔ email reader)
	Data        map[string]string `json:"data,omitempty"`        // small extra fields owned by one package (keys prefixed by it)
}

// Active reports whether deliveries should go to this subscriber now.
func (s *Subscriber) Active() bool { return s.Status == StatusActive }

// TelegramID is the subscriber id of a Telegram chat.
func TelegramID(chatID int64) string { return "tg:" + strconv.FormatInt(chatID, 10) }

// Store keeps subscribers in Redis, the source of truth, and records every
// change in a stream that matchers follow to keep their index in step.
type Store struct {
	st        *store.Store
	MaxTopics int
}

// NewStore returns a Store on st.
func NewStore(st *store.Store) *Store { return &Store{st: st, MaxTopics: DefaultMaxTopics} }

// Key is the one builder of a subscriber's keys: with no parts the hash
// holding the subscriber ("sub:{id}"), with parts a key beside it
// ("sub:{id}:digest", "sub:{id}:got:<story>"). The braces are a Redis
// Cluster hash tag: everything belonging to one subscriber lands in one
// slot, so one script or transaction may touch any of them together.
func Key(st *store.Store, id string, parts ...string) string {
	return st.Key(append([]string{"sub", "{" + id + "}"}, parts...)...)
}

func (s *Store) key(id string) string { return Key(s.st, id) }

// ChangesKey is the stream of subscriber ids whose topics changed.
func (s *Store) ChangesKey() string { return s.st.Key("{subs}", "changes") }

// Epoch names this Redis's subscriptions: a random token made the first
// time it is asked for, and made again only if the key is lost with the
// rest (a flushed or new Redis). A matcher's saved index records the
// epoch it was read under and is used again only under the same one.
// With create false, Epoch returns "" where there is none.
func (s *Store) Epoch(ctx context.Context, create bool) (string, error) {
	key := s.st.Key("{subs}", "epoch")
	if create {
		token := strconv.FormatUint(rand.Uint64(), 36) + strconv.FormatUint(rand.Uint64(), 36)
		if err := s.st.Redis.SetNX(ctx, key, token, 0).Err(); err != nil {
			return "", fmt.Errorf("make epoch: %w", err)
		}
	}
	e, err := s.st.Redis.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read epoch: %w", err)
	}
	return e, nil
}

func (s *Store) emailKey(addr string) string {
	return s.st.Key("email", strings.ToLower(strings.TrimSpace(addr)))
}

// Get reads one subscriber.
func (s *Store) Get(ctx context.Context, id string) (*Subscriber, error) {
	m, err := s.st.Redis.HGetAll(ctx, s.key(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("get subscriber %s: %w", id, err)
	}
	if len(m) == 0 {
		return nil, ErrNotFound
	}
	return decode(id, m), nil
}

// ByEmail finds the subscriber holding an address.
func (s *Store) ByEmail(ctx context.Context, addr string) (*Subscriber, error) {
	id, err := s.st.Redis.Get(ctx, s.emailKey(addr)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find subscriber by email: %w", err)
	}
	return s.Get(ctx, id)
}

// Put writes a whole subscriber and announces the change.
func (s *Store) Put(ctx context.Context, sub *Subscriber) error {
	for _, t := range sub.Topics {
		if strings.ContainsAny(t, "\r\n") {
			return errTopicNewline
		}
	}
	if sub.Created.IsZero() {
		sub.Created = time.Now().UTC()
	}
	if err := s.st.Redis.HSet(ctx, s.key(sub.ID), encode(sub)).Err(); err != nil {
		return fmt.Errorf("put subscriber %s: %w", sub.ID, err)
	}
	if sub.Email != "" {
		if err := s.st.Redis.Set(ctx, s.emailKey(sub.Email), sub.ID, 0).Err(); err != nil {
			return fmt.Errorf("index email of %s: %w", sub.ID, err)
		}
	}
	return s.announce(ctx, sub.ID)
}

// Import writes many subscribers in pipelined batches and announces each:
// the bulk path (the demo's readers, the fault suite's hundreds of
// thousands), where Put's round trips per subscriber would take too long.
func (s *Store) Import(ctx context.Context, subs []*Subscriber) error {
	const batch = 1000
	for len(subs) > 0 {
		n := min(len(subs), batch)
		_, err := s.st.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, sub := range subs[:n] {
				for _, t := range sub.Topics {
					if strings.ContainsAny(t, "\r\n") {
						return errTopicNewline
					}
				}
				if sub.Created.IsZero() {
					sub.Created = time.Now().UTC()
				}
				p.HSet(ctx, s.key(sub.ID), encode(sub))
				if sub.Email != "" {
					p.Set(ctx, s.emailKey(sub.Email), sub.ID, 0)
				}
				p.XAdd(ctx, &redis.XAddArgs{Stream: s.ChangesKey(), MaxLen: 100000, Approx: true, Values: map[string]any{"sub": sub.ID}})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("import subscribers: %w", err)
		}
		subs = subs[n:]
	}
	return nil
}

// Update reads a subscriber, lets fn change it and writes it back, retrying
// when another process changed it in between.
//
// When the topics change and the subscriber is linked to another one (a
// Telegram chat and its email reader), the linked one gets the same topics,
// so both channels follow one list whichever side changed it.
func (s *Store) Update(ctx context.Context, id string, fn func(*Subscriber) error) (*Subscriber, error) {
	var before []string
	out, err := s.update(ctx, id, func(sub *Subscriber) error {
		before = slices.Clone(sub.Topics)
		return fn(sub)
	})
	if err != nil || out.LinkedTo == "" || slices.Equal(before, out.Topics) {
		return out, err
	}
	_, lerr := s.update(ctx, out.LinkedTo, func(other *Subscriber) error {
		if other.LinkedTo != out.ID {
			return errNotLinked
		}
		other.Topics = slices.Clone(out.Topics)
		return nil
	})
	if lerr != nil && !errors.Is(lerr, errNotLinked) && !errors.Is(lerr, ErrNotFound) {
		return out, fmt.Errorf("copy topics to linked %s: %w", out.LinkedTo, lerr)
	}
	return out, nil
}

var errNotLinked = errors.New("not linked back")

func (s *Store) update(ctx context.Context, id string, fn func(*Subscriber) error) (*Subscriber, error) {
	var out *Subscriber
	key := s.key(id)
	for range 20 {
		err := s.st.Redis.Watch(ctx, func(tx *redis.Tx) error {
			m, err := tx.HGetAll(ctx, key).Result()
			if err != nil {
				return err
			}
			if len(m) == 0 {
				return ErrNotFound
			}
			sub := decode(id, m)
			if err := fn(sub); err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Del(ctx, key)
				p.HSet(ctx, key, encode(sub))
				return nil
			})
			out = sub
			return err
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return out, s.announce(ctx, id)
	}
	return nil, fmt.Errorf("update subscriber %s: too much contention", id)
}

// dataOnceScript sets a Data field unless it is set, on an existing
// subscriber only. KEYS: hash. ARGV: field, value.
var dataOnceScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HGET', KEYS[1], ARGV[1])
`)

// DataOnce sets the subscriber's Data[field] to value unless it holds one,
// and returns what it holds. It does not announce a change: Data is no
// matcher's business.
func (s *Store) DataOnce(ctx context.Context, id, field, value string) (string, error) {
	v, err := dataOnceScript.Run(ctx, s.st.Redis, []string{s.key(id)}, "x:"+field, value).Text()
	if errors.Is(err, redis.Nil) {
		return "", ErrNotFound
	}
	return v, err
}

// AddTopic appends a topic (already validated by the caller).
func (s *Store) AddTopic(ctx context.Context, id, topic string) (*Subscriber, error) {
	if strings.ContainsAny(topic, "\r\n") {
		return nil, errTopicNewline
	}
	return s.Update(ctx, id, func(sub *Subscriber) error {
		for _, t := range sub.Topics {
			if strings.EqualFold(t, topic) {
				return ErrDuplicate
			}
		}
		if len(sub.Topics) >= s.MaxTopics {
			return fmt.Errorf("%w: at most %d", ErrTooMany, s.MaxTopics)
		}
		sub.Topics = append(sub.Topics, topic)
		return nil
	})
}

// RemoveTopic removes the n-th topic (1-based) and returns it.
func (s *Store) RemoveTopic(ctx context.Context, id string, n int) (string, error) {
	var removed string
	_, err := s.Update(ctx, id, func(sub *Subscriber) error {
		if n < 1 || n > len(sub.Topics) {
			return ErrNoSuchTopic
		}
		removed = sub.Topics[n-1]
		sub.Topics = append(sub.Topics[:n-1], sub.Topics[n:]...)
		return nil
	})
	return removed, err
}

// Delete removes a subscriber and everything the store holds on it.
func (s *Store) Delete(ctx context.Context, id string) error {
	sub, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if sub.Email != "" {
		s.st.Redis.Del(ctx, s.emailKey(sub.Email))
	}
	// The feed list (package delivery's) goes with the hash: it is the
	// subscriber's matches, and shares the slot.
	if err := s.st.Redis.Del(ctx, s.key(id), Key(s.st, id, "feed")).Err(); err != nil {
		return fmt.Errorf("delete subscriber %s: %w", id, err)
	}
	return s.announce(ctx, id)
}

func (s *Store) announce(ctx context.Context, id string) error {
	err := s.st.Redis.XAdd(ctx, &redis.XAddArgs{
		Stream: s.ChangesKey(), MaxLen: 100000, Approx: true,
		Values: map[string]any{"sub": id},
	}).Err()
	if err != nil {
		return fmt.Errorf("announce change of %s: %w", id, err)
	}
	return nil
}

// Scan calls fn for every subscriber, reading them in pipelined batches.
func (s *Store) Scan(ctx context.Context, fn func(*Subscriber) error) error {
	// Only the subscriber hashes themselves ("sub:{id}"): the same prefix
	// also holds each subscriber's digest list and delivery markers
	// ("sub:{id}:digest", "sub:{id}:got:…"), which are not hashes.
	return s.scanKeys(ctx, 2000, func(c redis.UniversalClient, keys []string) error {
		cmds := make([]*redis.MapStringStringCmd, len(keys))
		_, _ = c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range keys {
				cmds[i] = p.HGetAll(ctx, k)
			}
			return nil
		})
		for i, cmd := range cmds {
			if err := cmd.Err(); err != nil {
				if strings.HasPrefix(err.Error(), "WRONGTYPE") {
					continue // a key of another type that fits the pattern
				}
				return fmt.Errorf("read subscribers: %w", err)
			}
			m := cmd.Val()
			if len(m) == 0 {
				continue
			}
			if err := fn(decode(idFromKey(keys[i]), m)); err != nil {
				return err
			}
		}
		return nil
	})
}

// scanKeys calls fn with the keys of the subscriber hashes ("sub:{id}",
// not the "sub:{id}:…" keys beside them), count at a time, on every master
// of a cluster.
func (s *Store) scanKeys(ctx context.Context, count int64, fn func(c redis.UniversalClient, keys []string) error) error {
	return s.st.Scan(ctx, Key(s.st, "*"), count, fn)
}

// Topics is what a matcher needs of one subscriber: where deliveries go
// and the topics it follows, joined by "\n" as stored.
type Topics struct {
	ID, Kind, Status string
	ChatID           int64
	Topics           string
}

// ScanTopics calls fn with every subscriber's Topics, a batch at a time.
// It reads four fields of each hash with HMGET instead of the whole hash
// into a map, which is most of the cost of loading a million subscribers;
// fn may keep the batch.
func (s *Store) ScanTopics(ctx context.Context, fn func([]Topics) error) error {
	return s.ScanTopicsOf(ctx, nil, fn)
}

// ScanTopicsOf is ScanTopics for the subscribers whose id holds says yes
// to (nil: all): the ids are taken from the key names SCAN returns, so
// the hashes of the others are never read. A matcher partition of N reads
// 1/N of the hashes this way, and the SCAN of the rest is a small part of
// its start-up.
func (s *Store) ScanTopicsOf(ctx context.Context, holds func(id string) bool, fn func([]Topics) error) error {
	return s.scanKeys(ctx, 5000, func(c redis.UniversalClient, keys []string) error {
		if holds != nil {
			mine := keys[:0]
			for _, k := range keys {
				if holds(idFromKey(k)) {
					mine = append(mine, k)
				}
			}
			if keys = mine; len(keys) == 0 {
				return nil
			}
		}
		cmds := make([]*redis.SliceCmd, len(keys))
		_, _ = c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range keys {
				cmds[i] = p.HMGet(ctx, k, "k", "s", "chat", "q")
			}
			return nil
		})
		batch := make([]Topics, 0, len(keys))
		for i, cmd := range cmds {
			if err := cmd.Err(); err != nil {
				if strings.HasPrefix(err.Error(), "WRONGTYPE") {
					continue // a key of another type that fits the pattern
				}
				return fmt.Errorf("read subscribers: %w", err)
			}
			v := cmd.Val()
			if len(v) != 4 || v[0] == nil && v[1] == nil {
				continue // gone since SCAN named it
			}
			t := Topics{ID: idFromKey(keys[i])}
			kind, _ := v[0].(string)
			t.Status, _ = v[1].(string)
			chat, _ := v[2].(string)
			t.Kind, t.ChatID = kindAndChat(t.ID, kind, chat)
			t.Topics, _ = v[3].(string)
			batch = append(batch, t)
		}
		if len(batch) == 0 {
			return nil
		}
		return fn(batch)
	})
}

// KeyID is the subscriber id in one of the keys Key builds.
func KeyID(key string) string { return idFromKey(key) }

func idFromKey(k string) string {
	i, j := strings.IndexByte(k, '{'), strings.LastIndexByte(k, '}')
	if i < 0 || j < i {
		return k
	}
	return k[i+1 : j]
}

// Short field names: the hash is stored once per subscriber, and ten
// million subscribers make every byte count. A Telegram chat whose id is
// TelegramID(ChatID), as nearly all are, stores neither its kind nor its
// chat: decode reads both from the id (25 bytes of each hash, which took
// most hashes down one allocation size).
func encode(s *Subscriber) map[string]any {
	m := map[string]any{
		"s": s.Status, "q": strings.Join(s.Topics, "\n"),
		"c": s.Created.Unix(),
	}
	implied := s.Kind == KindTelegram && s.ChatID != 0 && s.ID == TelegramID(s.ChatID)
	if !implied {
		m["k"] = s.Kind
		if s.ChatID != 0 {
			m["chat"] = s.ChatID
		}
	}
	if s.Email != "" {
		m["e"] = s.Email
	}
	if s.Frequency != "" {
		m["f"] = s.Frequency
	}
	if s.Hour != 0 {
		m["h"] = s.Hour
	}
	if s.TZ != "" {
		m["tz"] = s.TZ
	}
	if s.Bounces != 0 {
		m["b"] = s.Bounces
	}
	if !s.PausedUntil.IsZero() {
		m["pu"] = s.PausedUntil.Unix()
	}
	if s.Quiet != "" {
		m["qt"] = s.Quiet
	}
	if len(s.Muted) > 0 {
		m["mu"] = strings.Join(s.Muted, "\n")
	}
	if s.Lang != "" {
		m["l"] = s.Lang
	}
	if s.LinkedTo != "" {
		m["ln"] = s.LinkedTo
	}
	for k, v := range s.Data {
		m["x:"+k] = v
	}
	return m
}

// kindAndChat reads a subscriber's kind and chat from its stored fields,
// or, where encode left them out, from its id ("tg:<chat>").
func kindAndChat(id, kind, chat string) (string, int64) {
	c, _ := strconv.ParseInt(chat, 10, 64)
	if kind == "" || c == 0 {
		if rest, ok := strings.CutPrefix(id, "tg:"); ok {
			if n, err := strconv.ParseInt(rest, 10, 64); err == nil && n != 0 && strconv.FormatInt(n, 10) == rest {
				if kind == "" {
					kind = KindTelegram
				}
				if c == 0 && kind == KindTelegram {
					c = n
				}
			}
		}
	}
	return kind, c
}

func decode(id string, m map[string]string) *Subscriber {
	s := &Subscriber{ID: id, Status: m["s"], Email: m["e"], Frequency: m["f"], TZ: m["tz"]}
	if q := m["q"]; q != "" {
		s.Topics = strings.Split(q, "\n")
	}
	s.Kind, s.ChatID = kindAndChat(id, m["k"], m["chat"])
	s.Hour, _ = strconv.Atoi(m["h"])
	s.Bounces, _ = strconv.Atoi(m["b"])
	if c, err := strconv.ParseInt(m["c"], 10, 64); err == nil {
		s.Created = time.Unix(c, 0).UTC()
	}
	if pu, err := strconv.ParseInt(m["pu"], 10, 64); err == nil && pu > 0 {
		s.PausedUntil = time.Unix(pu, 0).UTC()
	}
	s.Quiet, s.Lang, s.LinkedTo = m["qt"], m["l"], m["ln"]
	if mu := m["mu"]; mu != "" {
		s.Muted = strings.Split(mu, "\n")
	}
	for k, v := range m {
		if rest, ok := strings.CutPrefix(k, "x:"); ok {
			if s.Data == nil {
				s.Data = map[string]string{}
			}
			s.Data[rest] = v
		}
	}
	return s
}

// TopicLines returns the topics of each subscriber as stored, joined by
// "\n" ("" for one that is gone), in one round trip.
func (s *Store) TopicLines(ctx context.Context, ids []string) ([]string, error) {
	cmds := make([]*redis.StringCmd, len(ids))
	_, err := s.st.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGet(ctx, s.key(id), "q")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read topics of %d subscribers: %w", len(ids), err)
	}
	out := make([]string, len(ids))
	for i, c := range cmds {
		out[i] = c.Val()
	}
	return out, nil
}
