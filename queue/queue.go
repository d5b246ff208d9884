// Package queue is the hand-off between Herald's stages: Redis Streams read
// through consumer groups. An entry stays pending in its group until the
// handler that took it has finished with it, so a process killed mid-work
// leaves its entries to be claimed by another consumer (or itself, after a
// restart) once they have been idle for ClaimAfter.
package queue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Stream is one Redis stream read by one consumer group.
type Stream struct {
	Redis    redis.UniversalClient
	Key      string
	Group    string
	Consumer string // unique per process, e.g. hostname-pid

	// MaxLen trims the stream approximately on every add; 0 keeps all.
	MaxLen int64
	// ClaimAfter is how long an entry may stay pending with a consumer
	// before another one takes it over (default 30s).
	ClaimAfter time.Duration
	// Batch is how many entries one read takes (default 10).
	Batch int64
	// Block is how long one read waits for new entries (default 1s).
	Block time.Duration

	Log *slog.Logger
}

// Message is one stream entry.
type Message struct {
	ID     string
	Values map[string]any
	// Stream is the key of the stream it was read from.
	Stream string
	// Retries counts earlier deliveries that were not acknowledged.
	Retries int64
}

// Get returns a field of the entry as a string.
func (m Message) Get(field string) string {
	v, _ := m.Values[field].(string)
	return v
}

// Ensure creates the stream and its group if they do not exist.
func (s *Stream) Ensure(ctx context.Context) error {
	err := s.Redis.XGroupCreateMkStream(ctx, s.Key, s.Group, "0").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create group %s on %s: %w", s.Group, s.Key, err)
	}
	return nil
}

// Add appends an entry.
func (s *Stream) Add(ctx context.Context, values map[string]any) (string, error) {
	args := &redis.XAddArgs{Stream: s.Key, Values: values}
	if s.MaxLen > 0 {
		args.MaxLen, args.Approx = s.MaxLen, true
	}
	id, err := s.Redis.XAdd(ctx, args).Result()
	if err != nil {
		return "", fmt.Errorf("add to %s: %w", s.Key, err)
	}
	return id, nil
}

// Handler does the work for one entry. Returning nil acknowledges it;
// an error leaves it pending, to be retried after ClaimAfter.
type Handler func(ctx context.Context, m Message) error

// Run reads entries and hands them to h one by one until ctx ends,
// acknowledging each that h finished. Redis errors are logged and retried
// with back-off; Run returns only ctx's error.
func (s *Stream) Run(ctx context.Context, h Handler) error {
	s.defaults()
	room := func(context.Context) int { return int(s.Batch) }
	return s.Consume(ctx, room, func(ctx context.Context, msgs []Message) {
		for _, m := range msgs {
			// Once shutdown began, the rest stay pending for a claim.
			if ctx.Err() != nil {
				break
			}
			if err := h(ctx, m); err != nil {
				if ctx.Err() == nil {
					s.Log.Warn("queue entry failed; left pending for retry", "stream", s.Key, "entry", m.ID, "err", err)
				}
				continue
			}
			if err := s.Ack(context.WithoutCancel(ctx), m.ID); err != nil {
				s.Log.Warn("queue ack failed", "stream", s.Key, "entry", m.ID, "err", err)
			}
		}
	})
}

// Consume is the one consumer loop: until ctx ends it asks room how many
// entries it may take (room may block until there is space), takes up to
// that many, entries other consumers left pending for ClaimAfter first,
// else new ones, and hands them to take. What take is given stays pending
// until someone acknowledges it (Ack, AckIn), so a consumer that hands
// entries to workers acknowledges them as the work ends. Redis errors are
// logged and retried with back-off, a lost group is made again, and
// finished entries are trimmed now and then. It returns ctx's error.
func (s *Stream) Consume(ctx context.Context, room func(context.Context) int, take func(context.Context, []Message)) error {
	return ConsumeAll(ctx, []*Stream{s}, room, take)
}

// ConsumeAll is Consume over several streams read by one loop (a queue
// split into shards over Redis Cluster's hash slots), each through a group
// of the same name, as the same consumer: each round shares room between
// them, starting with a different one each time, so no stream waits
// behind another's backlog and the loop never holds more than room said.
// Every Message names its Stream. The streams must share one client,
// group and consumer; the first one's Block, ClaimAfter and Log apply.
// On one Redis a single XREADGROUP blocks on all of them at once; on a
// cluster, where one command cannot name keys of several slots, they are
// read without blocking in one pipeline (one round trip per node) and an
// idle loop polls, backing off to Block/4.
func ConsumeAll(ctx context.Context, streams []*Stream, room func(context.Context) int, take func(context.Context, []Message)) error {
	if len(streams) == 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	for _, s := range streams {
		s.defaults()
	}
	r := &reader{streams: streams, first: streams[0]}
	_, r.cluster = r.first.Redis.(*redis.ClusterClient)
	s := r.first
	backoff := time.Duration(0)
	lastClaim := time.Time{}
	lastTrim := time.Now()
	for ctx.Err() == nil {
		if time.Since(lastTrim) > trimEvery {
			lastTrim = time.Now()
			for _, t := range streams {
				if err := t.TrimAcked(ctx); err != nil && ctx.Err() == nil {
					s.Log.Debug("queue trim failed", "stream", t.Key, "err", err)
				}
			}
		}
		if wait := max(backoff, r.idle); wait > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
		n := int64(room(ctx))
		if ctx.Err() != nil {
			break
		}
		if n <= 0 {
			// room should block while there is none; never spin.
			select {
			case <-ctx.Done():
			case <-time.After(s.Block):
			}
			continue
		}
		var msgs []Message
		var err error
		if time.Since(lastClaim) > s.ClaimAfter/4 {
			msgs, err = r.claim(ctx, n)
			lastClaim = time.Now()
		}
		if err == nil && len(msgs) == 0 {
			msgs, err = r.read(ctx, n)
		}
		// A blocking read is not interrupted by ctx, so it may return
		// entries after shutdown began; those stay pending (to be claimed
		// again) instead of being handed on with a dead context. Entries
		// read from some streams are handed on even if another failed.
		if len(msgs) > 0 && ctx.Err() == nil {
			take(ctx, msgs)
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if strings.Contains(err.Error(), "NOGROUP") {
				// Redis lost a group (restarted without persistence,
				// or the key was deleted): make it again and go on.
				err = r.ensure(ctx)
			}
			if err != nil {
				// One line per outage, not one per retry.
				if backoff == 0 {
					s.Log.Warn("queue read failed; retrying until Redis answers", "stream", s.Key, "streams", len(streams), "err", err)
				}
				backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
				continue
			}
		}
		if backoff > 0 {
			s.Log.Info("queue reads again", "stream", s.Key, "streams", len(streams))
		}
		backoff = 0
	}
	return ctx.Err()
}

// reader is ConsumeAll's state between rounds.
type reader struct {
	streams []*Stream
	first   *Stream
	cluster bool
	next    int           // the stream a round starts with
	idle    time.Duration // the pause before the next poll (cluster)
}

// share splits n entries between the streams, starting with r.next:
// counts[i] is what stream i may give this round (0: not read).
func (r *reader) share(n int64) []int64 {
	k := int64(len(r.streams))
	counts := make([]int64, k)
	for j := range k {
		i := (int64(r.next) + j) % k
		counts[i] = n / k
		if j < n%k {
			counts[i]++
		}
	}
	r.next = (r.next + 1) % len(r.streams)
	return counts
}

func (r *reader) ensure(ctx context.Context) error {
	for _, s := range r.streams {
		if err := s.Ensure(ctx); err != nil {
			return err
		}
	}
	return nil
}

// claim takes over entries left pending too long, from every stream in
// one pipeline.
func (r *reader) claim(ctx context.Context, n int64) ([]Message, error) {
	if len(r.streams) == 1 {
		return r.first.claim(ctx, n)
	}
	counts := r.share(n)
	cmds := make([]*redis.XAutoClaimCmd, len(r.streams))
	_, _ = r.first.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, s := range r.streams {
			if counts[i] > 0 {
				cmds[i] = p.XAutoClaim(ctx, &redis.XAutoClaimArgs{
					Stream: s.Key, Group: s.Group, Consumer: s.Consumer,
					MinIdle: s.ClaimAfter, Start: "0-0", Count: counts[i],
				})
			}
		}
		return nil
	})
	var out []Message
	var first error
	for i, c := range cmds {
		if c == nil {
			continue
		}
		xs, _, err := c.Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			first = cmp.Or(first, fmt.Errorf("claim from %s: %w", r.streams[i].Key, err))
			continue
		}
		for _, x := range xs {
			out = append(out, Message{ID: x.ID, Stream: r.streams[i].Key, Values: x.Values, Retries: 1})
		}
	}
	return out, first
}

// read takes new entries: from one stream, or from several as ConsumeAll
// says.
func (r *reader) read(ctx context.Context, n int64) ([]Message, error) {
	if len(r.streams) == 1 {
		return r.first.read(ctx, n)
	}
	counts := r.share(n)
	if !r.cluster {
		// One blocking read over every stream given a share; COUNT is
		// per stream, so each gets the smallest share.
		var keys, ids []string
		c := int64(0)
		for i, s := range r.streams {
			if counts[i] > 0 {
				keys, ids = append(keys, s.Key), append(ids, ">")
				c = cmp.Or(min(c, counts[i]), counts[i])
			}
		}
		return r.first.readGroup(ctx, append(keys, ids...), c)
	}
	cmds := make([]*redis.XStreamSliceCmd, len(r.streams))
	_, _ = r.first.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, s := range r.streams {
			if counts[i] > 0 {
				cmds[i] = p.XReadGroup(ctx, &redis.XReadGroupArgs{
					Group: s.Group, Consumer: s.Consumer, Streams: []string{s.Key, ">"},
					Count: counts[i], Block: -1,
				})
			}
		}
		return nil
	})
	var out []Message
	var first error
	for i, c := range cmds {
		if c == nil {
			continue
		}
		res, err := c.Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			first = cmp.Or(first, fmt.Errorf("read from %s: %w", r.streams[i].Key, err))
			continue
		}
		for _, st := range res {
			for _, x := range st.Messages {
				out = append(out, Message{ID: x.ID, Stream: st.Stream, Values: x.Values})
			}
		}
	}
	if len(out) > 0 || first != nil {
		r.idle = 0
	} else {
		r.idle = min(max(2*r.idle, 5*time.Millisecond), r.first.Block/4)
	}
	return out, first
}

// trimEvery is how often a consumer trims entries every group is done with.
const trimEvery = 30 * time.Second

// TrimAcked deletes the entries that every consumer group of the stream has
// read and acknowledged. Streams are never trimmed by length: a backlog of
// unsent work is kept whatever its size, and only finished work goes.
func (s *Stream) TrimAcked(ctx context.Context) error {
	floor, err := s.trimFloor(ctx)
	if err != nil || floor == "" {
		return err
	}
	// Approximate trimming removes only whole nodes below the floor (real
	// Redis) or exactly the entries below it (the embedded server): either
	// way nothing at or after the floor goes.
	return s.Redis.XTrimMinIDApprox(ctx, s.Key, floor, 0).Err()
}

// trimFloor is the lowest id some group still needs: its oldest pending
// entry, or else the first entry after the last one it read. It is "" when
// there is nothing to trim.
func (s *Stream) trimFloor(ctx context.Context) (string, error) {
	groups, err := s.Redis.XInfoGroups(ctx, s.Key).Result()
	if err != nil {
		return "", fmt.Errorf("list groups of %s: %w", s.Key, err)
	}
	var floor string
	for _, g := range groups {
		need := nextID(g.LastDeliveredID) // entries after it are unread
		if g.Pending > 0 {
			p, err := s.Redis.XPending(ctx, s.Key, g.Name).Result()
			if err != nil {
				return "", fmt.Errorf("read pending of %s on %s: %w", g.Name, s.Key, err)
			}
			if p.Count > 0 {
				need = p.Lower
			}
		}
		if floor == "" || lessID(need, floor) {
			floor = need
		}
	}
	if floor == "0-1" {
		return "", nil
	}
	return floor, nil
}

// nextID is the smallest stream id after id.
func nextID(id string) string {
	ms, seq, ok := splitID(id)
	if !ok {
		return "0-1"
	}
	return fmt.Sprintf("%d-%d", ms, seq+1)
}

func lessID(a, b string) bool {
	am, as, _ := splitID(a)
	bm, bs, _ := splitID(b)
	return am < bm || (am == bm && as < bs)
}

func splitID(id string) (uint64, uint64, bool) {
	msPart, seqPart, ok := strings.Cut(id, "-")
	if !ok {
		return 0, 0, false
	}
	ms, err1 := strconv.ParseUint(msPart, 10, 64)
	seq, err2 := strconv.ParseUint(seqPart, 10, 64)
	return ms, seq, err1 == nil && err2 == nil
}

// Ack acknowledges entries so no one takes them again.
func (s *Stream) Ack(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	if err := s.Redis.XAck(ctx, s.Key, s.Group, ids...).Err(); err != nil {
		return fmt.Errorf("ack %d entries of %s: %w", len(ids), s.Key, err)
	}
	return nil
}

// AckIn adds the acknowledgement of ids to p, a transaction or pipeline,
// so that it takes effect together with the caller's other writes (keys
// in the stream's hash slot, for a transaction).
func (s *Stream) AckIn(ctx context.Context, p redis.Pipeliner, ids ...string) {
	if len(ids) > 0 {
		p.XAck(ctx, s.Key, s.Group, ids...)
	}
}

// Renew tells the group that this consumer still works on ids, so that
// entries waiting in its hands longer than ClaimAfter (for a slow chat,
// say) are not claimed by another consumer as if this one had died.
func (s *Stream) Renew(ctx context.Context, ids ...string) error {
	for chunk := range slices.Chunk(ids, 500) {
		err := s.Redis.XClaimJustID(ctx, &redis.XClaimArgs{
			Stream: s.Key, Group: s.Group, Consumer: s.Consumer, MinIdle: 0, Messages: chunk,
		}).Err()
		if err != nil {
			return fmt.Errorf("renew %d entries of %s: %w", len(chunk), s.Key, err)
		}
	}
	return nil
}

func (s *Stream) defaults() {
	if s.ClaimAfter <= 0 {
		s.ClaimAfter = 30 * time.Second
	}
	if s.Batch <= 0 {
		s.Batch = 10
	}
	if s.Block <= 0 {
		s.Block = time.Second
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
}

func (s *Stream) read(ctx context.Context, n int64) ([]Message, error) {
	return s.readGroup(ctx, []string{s.Key, ">"}, n)
}

// readGroup is one XREADGROUP of s's group and consumer over streams
// (keys, then ids), up to n entries from each, blocking as s says.
func (s *Stream) readGroup(ctx context.Context, streams []string, n int64) ([]Message, error) {
	res, err := s.Redis.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: s.Group, Consumer: s.Consumer, Streams: streams, Count: n, Block: s.Block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Message
	for _, st := range res {
		for _, x := range st.Messages {
			out = append(out, Message{ID: x.ID, Stream: st.Stream, Values: x.Values})
		}
	}
	return out, nil
}

// claim takes over entries another consumer (perhaps a killed process, or
// this one before a restart) left pending for longer than ClaimAfter.
func (s *Stream) claim(ctx context.Context, n int64) ([]Message, error) {
	xs, _, err := s.Redis.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: s.Key, Group: s.Group, Consumer: s.Consumer,
		MinIdle: s.ClaimAfter, Start: "0-0", Count: n,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]Message, 0, len(xs))
	for _, x := range xs {
		out = append(out, Message{ID: x.ID, Stream: s.Key, Values: x.Values, Retries: 1})
	}
	return out, nil
}

// Stats is what operators watch on a stream.
type Stats struct {
	Length        int64
	Pending       int64
	OldestPending time.Duration
}

// Stats reads the stream's length, the group's pending count and the age of
// its oldest pending entry.
func (s *Stream) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	n, err := s.Redis.XLen(ctx, s.Key).Result()
	if err != nil {
		return st, err
	}
	st.Length = n
	p, err := s.Redis.XPending(ctx, s.Key, s.Group).Result()
	if err != nil {
		if strings.Contains(err.Error(), "NOGROUP") {
			return st, nil
		}
		return st, err
	}
	st.Pending = p.Count
	if p.Count > 0 {
		if ms, ok := idMillis(p.Lower); ok {
			st.OldestPending = time.Since(time.UnixMilli(ms))
		}
	}
	return st, nil
}

func idMillis(id string) (int64, bool) {
	var ms int64
	i := strings.IndexByte(id, '-')
	if i <= 0 {
		return 0, false
	}
	for _, c := range id[:i] {
		if c < '0' || c > '9' {
			return 0, false
		}
		ms = ms*10 + int64(c-'0')
	}
	return ms, true
}
