// Package matcher reads new articles from the article stream, finds the
// subscribers whose topics match, and queues a delivery for each. Its index
// of topics is loaded from Redis at start and kept in step by following the
// stream of subscriber changes.
package matcher

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/internal/numtab"
	"github.com/herald-news/herald/queue"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
)

// Matcher is the matching stage.
//
// A million subscribers with a few topics each make millions of index
// entries, so each is filed under a 6-byte reference (the subscriber's
// number in targets, then the topic's position) rather than a string
// naming the subscriber and the topic, and a subscriber's state is a small
// struct in one slice.
type Matcher struct {
	st   *store.Store
	subs *subscriptions.Store
	log  *slog.Logger

	mu sync.RWMutex
	// changes is held by whatever changes the index (Load, Restore,
	// apply) around taking mu, and by SaveSnapshot instead of mu: saving
	// holds off subscriber changes, not matching. (Held with mu's read
	// lock, a save made a change wait for mu, and every match wait behind
	// that change.)
	changes sync.Mutex
	idx     *subscriptions.Index
	targets []target // by subscriber number
	free    []uint32 // numbers of targets no longer used
	// numbers finds a subscriber's number by a hash of its id (confirmed
	// against the target: see isNum), in a tenth of the memory of a map.
	numbers numtab.Table
	seed    maphash.Seed

	// Consumer names this process in the stream's consumer group.
	Consumer string
	// Partition of Partitions is the part of the subscribers this matcher
	// holds (PartitionOf); each partition reads the article stream through
	// a consumer group of its own, so every article is matched once per
	// partition. 0 of 1 (New's default) holds them all.
	Partition, Partitions int
	// ClaimAfter is the stream's ClaimAfter (0: the queue's default).
	ClaimAfter time.Duration
	// Matched, when set, is told of each delivery queued (metrics).
	Matched func(kind string)
	// HeapHeadroom bounds how far the heap may grow over what it holds
	// after loading before the garbage collector runs (0: 128 MiB; < 0:
	// leave the collector as GOGC says). See bound.
	HeapHeadroom int64
	// SnapshotPath, if set, is a file the index is saved in after loading,
	// every SnapshotEvery (0: 10 minutes) while subscribers change, and on
	// stopping; Run reads it back instead of loading from Redis when it
	// still holds (see snapshot.go).
	SnapshotPath  string
	SnapshotEvery time.Duration

	epoch   string                 // of the subscriptions loaded (Store.Epoch)
	applied atomic.Pointer[string] // the change stream point the index is current with
	saved   string                 // applied when the last snapshot was saved
}

// target is where one subscriber's deliveries go, in 32 bytes: there are
// millions.
type target struct {
	chatID int64
	more   *targetMore // nil for most: see targetMore
	// filed holds the index handle (subscriptions.Index.FileBatch) of
	// each of the first n topics, by position; noTopic where a topic no
	// longer parses. The matcher keeps these rather than the index a map
	// of its ids. A subscriber of more topics has them all in more.
	filed [inlineTopics]uint32
	// reworded has bit i set when topic i is not in its normalised form
	// (the index hands back that form with each match): "war ukraine"
	// written "ukraine war". Bit 15 stands for every topic from the 15th.
	// Their wording is read from Redis when they match, rather than kept:
	// at ten million subscribers it was a tenth of a partition's memory.
	reworded uint16
	kind     uint8 // kindTelegram, kindEmail; 0: unused
	n        uint8 // topics in filed
}

// inlineTopics is how many topics' handles a target holds itself.
const inlineTopics = 3

// targetMore is what few subscribers need beside their target.
type targetMore struct {
	id    string   // the subscriber id, when it is not subscriptions.TelegramID(chatID)
	filed []uint32 // the handles of every topic, when there are more than inlineTopics
}

// handles returns the index handles of t's topics, by position.
func (t *target) handles() []uint32 {
	if t.more != nil && t.more.filed != nil {
		return t.more.filed
	}
	return t.filed[:t.n]
}

// rewordedBit is the bit of reworded that stands for topic i.
func rewordedBit(i int) uint16 { return 1 << min(i, 15) }

// noTopic is the handle of a topic that is not in the index.
const noTopic = ^uint32(0)

const (
	kindTelegram uint8 = 1 + iota
	kindEmail
)

func kindOf(s string) uint8 {
	switch s {
	case subscriptions.KindTelegram:
		return kindTelegram
	case subscriptions.KindEmail:
		return kindEmail
	}
	return 0
}

// refLen is the length of an index entry id: a big-endian subscriber
// number and topic position.
const (
	refLen    = 6
	maxTopics = 1<<16 - 1
)

func putRef(b []byte, num uint32, topic int) {
	binary.BigEndian.PutUint32(b, num)
	binary.BigEndian.PutUint16(b[4:], uint16(topic))
}

func parseRef(id string) (num uint32, topic int, ok bool) {
	if len(id) != refLen {
		return 0, 0, false
	}
	return binary.BigEndian.Uint32([]byte(id[:4])), int(binary.BigEndian.Uint16([]byte(id[4:]))), true
}

// telegramChat returns the chat of a subscriber id of the form "tg:<chat>".
func telegramChat(id string) (int64, bool) {
	rest, ok := strings.CutPrefix(id, "tg:")
	if !ok {
		return 0, false
	}
	c, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || strconv.FormatInt(c, 10) != rest {
		return 0, false
	}
	return c, true
}

// PartitionOf is the partition, of n, that holds the subscriber id: the
// 64-bit xxHash (XXH64, seed 0) of the id's bytes, modulo n. Every matcher
// process of every version must agree on it, or a subscriber would be held
// by two partitions or by none: it is part of the stored format, never to
// change. (Not FNV-1a: its low bits depend only on the low bits of the
// bytes, so with N a power of two, chat ids written with even digits only
// would all fall in partition 0.)
func PartitionOf(id string, n int) int {
	if n <= 1 {
		return 0
	}
	return int(xxhash.Sum64String(id) % uint64(n))
}

// holds reports whether subscriber id is in this matcher's partition.
func (m *Matcher) holds(id string) bool {
	return m.Partitions <= 1 || PartitionOf(id, m.Partitions) == m.Partition
}

// New returns a Matcher.
func New(st *store.Store, subs *subscriptions.Store, log *slog.Logger) *Matcher {
	if log == nil {
		log = slog.Default()
	}
	m := &Matcher{st: st, subs: subs, log: log, Consumer: "matcher", Partitions: 1, seed: maphash.MakeSeed()}
	m.reset(subscriptions.NewIndex(nil))
	return m
}

func (m *Matcher) reset(idx *subscriptions.Index) {
	m.idx = idx
	m.targets, m.free = nil, nil
	m.numbers = numtab.Table{}
}

// Load reads every subscriber into the index and returns the id of the
// change stream it is current with.
func (m *Matcher) Load(ctx context.Context) (string, error) {
	m.changes.Lock()
	defer m.changes.Unlock()
	last := "0-0"
	xs, err := m.st.Redis.XRevRangeN(ctx, m.subs.ChangesKey(), "+", "-", 1).Result()
	if err != nil {
		return "", fmt.Errorf("read change stream: %w", err)
	}
	if len(xs) > 0 {
		last = xs[0].ID
	}
	epoch, err := m.subs.Epoch(ctx, true)
	if err != nil {
		return "", err
	}
	started := time.Now()
	restoreGC := m.building()
	defer restoreGC() // on the error paths
	freq := m.frequencies(ctx)
	m.mu.Lock()
	m.reset(subscriptions.NewIndex(freq))
	m.mu.Unlock()

	// Reading from Redis, parsing the topics and filing them overlap: one
	// goroutine reads batches, one per core parses them, and this one files
	// them, as the index takes one writer at a time.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	read := make(chan []subscriptions.Topics, 4)
	parsed := make(chan []parsedSub, 4)
	var scanErr error
	go func() {
		defer close(read)
		var holds func(string) bool // nil: every subscriber
		if m.Partitions > 1 {
			holds = m.holds
		}
		scanErr = m.subs.ScanTopicsOf(ctx, holds, func(b []subscriptions.Topics) error {
			select {
			case read <- b:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			// Popular topics are followed by many subscribers: each is
			// parsed once per worker (a query is immutable once parsed).
			cache := newTopicCache()
			for b := range read {
				out := make([]parsedSub, 0, len(b))
				for i := range b {
					if p, ok := m.parse(&b[i], cache); ok {
						out = append(out, p)
					}
				}
				select {
				case parsed <- out:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(parsed) }()
	n := 0
	var filing time.Duration // the part of loading that cannot run in parallel
	for b := range parsed {
		t := time.Now()
		m.mu.Lock()
		m.fileLocked(b)
		m.mu.Unlock()
		filing += time.Since(t)
		n += len(b)
	}
	if scanErr != nil {
		return "", scanErr
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	// Growing the lists left room at their ends: give it back.
	m.mu.Lock()
	m.idx.Trim()
	if cap(m.targets)-len(m.targets) > cap(m.targets)/8 {
		m.targets = slices.Clone(m.targets)
	}
	m.epoch = epoch
	m.applied.Store(&last)
	m.mu.Unlock()
	restoreGC()
	m.settle()
	m.log.Info("subscriptions loaded", "subscribers", n, "partition", m.partition(), "took", time.Since(started).Round(time.Millisecond), "filing", filing.Round(time.Millisecond))
	return last, nil
}

// building has the garbage collector run less often while an index is
// built, and returns what undoes it. Loading builds a large heap that
// lives on: collecting at every doubling spent ~40% of start-up scanning
// it; bound sets the lasting target afterwards.
func (m *Matcher) building() (restore func()) {
	if m.HeapHeadroom < 0 || os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	before := debug.SetGCPercent(400)
	return sync.OnceFunc(func() { debug.SetGCPercent(before) })
}

// settle ends a load. Loading made garbage several times the size of
// what it kept (Redis replies, parse trees): give it back to the system
// now rather than keep the heap at its peak until the scavenger gets to
// it; then bound the heap.
func (m *Matcher) settle() {
	debug.FreeOSMemory()
	m.bound()
}

// frequencies counts word frequencies over recent articles so that each
// AND query is filed under its rarest term; nil when there are too few
// articles yet (the index then guesses).
func (m *Matcher) frequencies(ctx context.Context) *subscriptions.Frequencies {
	freq := subscriptions.NewFrequencies()
	if recent, err := articles.Recent(ctx, m.st, 2000); err == nil {
		for _, a := range recent {
			freq.Add(subscriptions.NewDoc(a.Title, a.URL, articles.MatchText(a)))
		}
	}
	if freq.Docs() < 50 {
		return nil
	}
	return freq
}

// bound lowers the garbage collector's target when the subscriptions are
// big, so that the heap stays within HeapHeadroom of what they hold. With
// the default GOGC=100 the heap would grow to twice the index (1M
// subscribers with 3 topics: ~750 MiB held, 1.5 GiB resident) between
// collections; matching makes little garbage, so collecting at +128 MiB
// costs a few percent of a core. It is a soft bound on the whole process,
// the last of the memory savings, and yields to an operator's GOGC or
// GOMEMLIMIT.
func (m *Matcher) bound() {
	if m.HeapHeadroom < 0 || os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	headroom := m.HeapHeadroom
	if headroom == 0 {
		headroom = 128 << 20
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if pct := headroom * 100 / int64(max(ms.HeapAlloc, 1)); pct < 100 {
		debug.SetGCPercent(int(max(pct, 10)))
		m.log.Info("garbage collection bounded", "heap_mib", ms.HeapAlloc>>20, "gc_percent", max(pct, 10))
	}
}

// topicCache keeps parsed topics while loading. Most topics of a big
// load are followed once (pairs of words), a few by thousands: a topic
// seen twice moves to hot, which outlives the clearing of once, so that
// each popular topic stays one parsed Query for the whole load, which
// the index then recognises without comparing its text (see
// subscriptions.Index.FileBatch).
type topicCache struct {
	once, hot map[string]*subscriptions.Query
}

func newTopicCache() *topicCache {
	return &topicCache{once: map[string]*subscriptions.Query{}, hot: map[string]*subscriptions.Query{}}
}

// get returns the parsed topic, or nil; a nil cache has none.
func (c *topicCache) get(topic string) *subscriptions.Query {
	if c == nil {
		return nil
	}
	if q := c.hot[topic]; q != nil {
		return q
	}
	q := c.once[topic]
	if q != nil {
		if len(c.hot) >= 1<<16 {
			clear(c.hot)
		}
		c.hot[topic] = q
	}
	return q
}

func (c *topicCache) put(topic string, q *subscriptions.Query) {
	if c == nil {
		return
	}
	if len(c.once) >= 1<<16 {
		clear(c.once)
	}
	c.once[topic] = q
}

// parsedSub is an active subscriber with its topics parsed, ready to file.
type parsedSub struct {
	id      string
	t       target
	queries []*subscriptions.Query // by position; nil where a topic no longer parses
}

// parse reads the topics of an active subscriber; it reports false for
// one that gets no deliveries. cache, if not nil, keeps parsed topics.
func (m *Matcher) parse(s *subscriptions.Topics, cache *topicCache) (parsedSub, bool) {
	kind := kindOf(s.Kind)
	if s.Status != subscriptions.StatusActive || kind == 0 || s.Topics == "" {
		return parsedSub{}, false
	}
	p := parsedSub{id: s.ID, t: target{chatID: s.ChatID, kind: kind}}
	for topic := range strings.SplitSeq(s.Topics, "\n") {
		if len(p.queries) == maxTopics {
			m.log.Warn("too many topics to index; ignoring the rest", "subscriber", s.ID, "topics", maxTopics)
			break
		}
		q, err := cache.get(topic), error(nil)
		if q == nil {
			if q, err = subscriptions.Parse(topic); err == nil {
				cache.put(topic, q)
			}
		}
		if err != nil {
			m.log.Warn("stored topic no longer parses", "subscriber", s.ID, "topic", topic, "err", err)
		} else if q.String() != topic {
			p.t.reworded |= rewordedBit(len(p.queries))
		}
		p.queries = append(p.queries, q)
	}
	if c, tg := telegramChat(s.ID); !tg || c != s.ChatID {
		p.t.more = &targetMore{id: s.ID}
	}
	return p, true
}

// fileLocked puts parsed subscribers into the index, replacing what they
// followed before. The references of a batch share one allocation, and
// so do its handles.
func (m *Matcher) fileLocked(ps []parsedSub) {
	total := 0
	for i := range ps {
		total += len(ps[i].queries)
	}
	buf := make([]byte, total*refLen)
	filed := make([]uint32, total)
	nums := make([]uint32, len(ps))
	at := 0
	for i := range ps {
		p := &ps[i]
		num, existed := m.numberLocked(p.id)
		nums[i] = num
		// A subscriber that changed keeps in the index each topic that is
		// where it was and the same query: following a popular topic that
		// others follow too, it is not taken out and filed again (each
		// costs a copy of that query's ids) when another topic changes.
		var old []uint32
		if existed {
			old = slices.Clone(m.targets[num].handles())
		}
		m.targets[num] = p.t
		for topic, q := range p.queries {
			putRef(buf[at*refLen:], num, topic)
			filed[at] = noTopic
			if topic < len(old) && old[topic] != noTopic && q != nil {
				if text, ok := m.idx.QueryOf(old[topic]); ok && text == q.String() {
					filed[at], old[topic] = old[topic], noTopic
				}
			}
			at++
		}
		m.unfileHandles(num, old) // those not kept
	}
	refs := string(buf)
	ids := make([]string, 0, total)
	qs := make([]*subscriptions.Query, 0, total)
	where := make([]int, 0, total) // the place in filed of each of ids
	at = 0
	for i := range ps {
		for _, q := range ps[i].queries {
			if q != nil && filed[at] == noTopic { // not kept
				ids = append(ids, refs[at*refLen:(at+1)*refLen])
				qs = append(qs, q)
				where = append(where, at)
			}
			at++
		}
	}
	// One call for the batch: the index files its topics together, which
	// at start-up is most of the time that cannot run in parallel.
	handles := make([]uint32, len(ids))
	m.idx.FileBatch(ids, qs, handles)
	for i, h := range handles {
		filed[where[i]] = h
	}
	at = 0
	for i := range ps {
		t := &m.targets[nums[i]]
		mine := filed[at : at+len(ps[i].queries)]
		at += len(mine)
		if len(mine) <= inlineTopics {
			t.n = uint8(copy(t.filed[:], mine))
			continue
		}
		if t.more == nil {
			t.more = new(targetMore)
		}
		t.more.filed = slices.Clone(mine)
	}
}

// numberLocked returns the number of subscriber id, and whether it had
// one (its topics still in the index), or a new number.
func (m *Matcher) numberLocked(id string) (uint32, bool) {
	if num, ok := m.lookupLocked(id); ok {
		return num, true
	}
	var num uint32
	if n := len(m.free); n > 0 {
		num = m.free[n-1]
		m.free = m.free[:n-1]
	} else {
		num = uint32(len(m.targets))
		m.targets = append(m.targets, target{})
	}
	m.numbers.Insert(maphash.String(m.seed, id), num)
	return num, false
}

func (m *Matcher) lookupLocked(id string) (uint32, bool) {
	return m.numbers.Find(maphash.String(m.seed, id), func(num uint32) bool { return m.isNum(num, id) })
}

// isNum reports whether target num is subscriber id.
func (m *Matcher) isNum(num uint32, id string) bool {
	t := &m.targets[num]
	if t.more != nil && t.more.id != "" {
		return t.more.id == id
	}
	c, ok := telegramChat(id)
	return ok && t.kind != 0 && c == t.chatID
}

// unfileLocked takes a subscriber's topics out of the index.
func (m *Matcher) unfileLocked(num uint32) {
	t := &m.targets[num]
	m.unfileHandles(num, t.handles())
	t.n = 0
	if t.more != nil {
		t.more.filed = nil
	}
}

// unfileHandles takes out of the index the topics of subscriber num
// whose handles, by position, are given (noTopic: not filed).
func (m *Matcher) unfileHandles(num uint32, handles []uint32) {
	var b [refLen]byte
	for topic, h := range handles {
		if h != noTopic {
			putRef(b[:], num, topic)
			m.idx.Unfile(h, string(b[:]))
		}
	}
}

// subID returns the subscriber id of a target.
func (m *Matcher) subID(num uint32) string {
	if t := &m.targets[num]; t.more != nil && t.more.id != "" {
		return t.more.id
	} else {
		return subscriptions.TelegramID(t.chatID)
	}
}

// apply puts a subscriber's current topics into the index; one with only
// an id (deleted) or not active is taken out.
func (m *Matcher) apply(s *subscriptions.Subscriber) {
	t := subscriptions.Topics{ID: s.ID, Kind: s.Kind, Status: s.Status, ChatID: s.ChatID, Topics: strings.Join(s.Topics, "\n")}
	p, ok := m.parse(&t, nil)
	m.changes.Lock()
	defer m.changes.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if ok {
		m.fileLocked([]parsedSub{p})
		return
	}
	num, found := m.lookupLocked(s.ID)
	if !found {
		return
	}
	m.unfileLocked(num)
	m.numbers.Delete(maphash.String(m.seed, s.ID), num)
	m.targets[num] = target{}
	m.free = append(m.free, num)
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
				// Another partition's subscribers are that partition's
				// matchers' to follow; this one does not even read them.
				if id, _ := x.Values["sub"].(string); id != "" && m.holds(id) && !m.applyChange(ctx, id) {
					return ctx.Err()
				}
				from = x.ID
				m.applied.Store(&x.ID)
			}
		}
	}
	return ctx.Err()
}

// applyChange reads a changed subscriber into the index. A read that fails
// is tried again, backing off, until it succeeds: moving on would leave the
// index without the change until the next restart, and later changes wait
// behind it so that they are applied in order. It reports false if ctx
// ended first.
func (m *Matcher) applyChange(ctx context.Context, id string) bool {
	backoff := time.Duration(0)
	for failures := 0; ; failures++ {
		s, err := m.subs.Get(ctx, id)
		switch {
		case err == nil:
			if failures > 0 {
				m.log.Info("read changed subscriber after retrying", "subscriber", id, "attempts", failures+1)
			}
			m.apply(s)
			return true
		case errors.Is(err, subscriptions.ErrNotFound):
			m.apply(&subscriptions.Subscriber{ID: id})
			return true
		case ctx.Err() != nil:
			return false
		}
		// Logged at the 1st, 2nd, 4th, 8th... failure: visible, not a flood.
		if failures&(failures-1) == 0 {
			m.log.Warn("cannot read changed subscriber; retrying", "subscriber", id, "failures", failures+1, "err", err)
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
	}
}

// Stream is the article stream as this matcher reads it, through its
// partition's group.
func (m *Matcher) Stream() *queue.Stream {
	return m.groupStream(m.Partition)
}

func (m *Matcher) groupStream(k int) *queue.Stream {
	return &queue.Stream{
		Redis: m.st.Redis, Key: articles.StreamKey(m.st), Group: articles.MatcherGroup(k, max(m.Partitions, 1)),
		Consumer: m.Consumer, ClaimAfter: m.ClaimAfter, Log: m.log,
	}
}

// partition is "K/N", as HERALD_MATCHER_PARTITION says it.
func (m *Matcher) partition() string {
	return strconv.Itoa(m.Partition) + "/" + strconv.Itoa(max(m.Partitions, 1))
}

// Ensure creates the consumer groups of every partition of N, not only
// this matcher's: an article published while all of one partition's
// matchers are down must still wait for that partition, and a group that
// does not exist yet would never see it. (The stream is trimmed only below
// what every group has acknowledged, so the article is kept.)
func (m *Matcher) Ensure(ctx context.Context) error {
	for k := range max(m.Partitions, 1) {
		if err := m.groupStream(k).Ensure(ctx); err != nil {
			return err
		}
	}
	return nil
}

// warnOtherPartitions logs the matcher groups of another partition count
// (what N was before a change): nothing reads them any more, and the
// stream keeps every article they have not acknowledged until they are
// deleted. ARCHITECTURE.md says how to change N.
func (m *Matcher) warnOtherPartitions(ctx context.Context) {
	key := articles.StreamKey(m.st)
	gs, err := m.st.Redis.XInfoGroups(ctx, key).Result()
	if err != nil {
		return
	}
	for _, g := range gs {
		if _, n, ok := articles.MatcherPartition(g.Name); ok && n != max(m.Partitions, 1) {
			m.log.Warn("the article stream has a matcher group of another partition count; once this partition count has caught up, delete it, or the stream keeps what it has not read",
				"group", g.Name, "partition", m.partition(), "pending", g.Pending, "lag", g.Lag,
				"delete_with", fmt.Sprintf("XGROUP DESTROY %s %s", key, g.Name))
		}
	}
}

// Run loads the subscriptions, follows their changes and matches articles
// until ctx ends.
func (m *Matcher) Run(ctx context.Context) error {
	var from string
	restored, trySnapshot := false, m.SnapshotPath != ""
	for attempt := 0; !restored; attempt++ {
		var err error
		if trySnapshot {
			switch from, err = m.Restore(ctx); {
			case err == nil:
				restored = true
				continue
			case errors.Is(err, errUnchecked): // wait for Redis, below
			case errors.Is(err, ErrNoSnapshot):
				m.log.Info("no snapshot yet; loading subscriptions from Redis", "path", m.SnapshotPath)
				trySnapshot = false
			default:
				m.log.Warn("snapshot not used; loading subscriptions from Redis", "path", m.SnapshotPath, "err", err)
				trySnapshot = false
			}
		}
		if !trySnapshot {
			if from, err = m.Load(ctx); err == nil {
				break
			}
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
		if err := m.Ensure(ctx); err == nil {
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
	m.warnOtherPartitions(ctx)
	go m.Follow(ctx, from)
	if m.SnapshotPath != "" {
		// The last snapshot is saved once matching has stopped: wait for it.
		ctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); m.keepSnapshots(ctx, !restored) }()
		defer func() { stop(); <-done }()
	}
	return s.Run(ctx, func(ctx context.Context, msg queue.Message) error {
		return m.Handle(ctx, msg.Get("article"))
	})
}

// Handle matches one article and queues its deliveries. It is safe to call
// twice for the same article: deliveries are idempotent.
func (m *Matcher) Handle(ctx context.Context, articleID string) error {
	a, err := articles.Load(ctx, m.st, articleID)
	switch {
	case errors.Is(err, articles.ErrNotFound):
		m.log.Warn("article expired before matching", "article", articleID)
		return nil
	case errors.Is(err, articles.ErrUnreadable):
		m.log.Warn("article unreadable", "article", articleID, "err", err)
		return nil
	case err != nil:
		return err
	}
	story := a.StoryID
	if story == "" {
		story = a.ID
	}
	if a.Lang == "" {
		// Stored by a watcher that did not detect languages yet; worth
		// the cost only if a topic asks for one.
		m.mu.RLock()
		asks := m.idx.AsksLang()
		m.mu.RUnlock()
		if asks {
			a.DetectLang()
		}
	}
	doc := subscriptions.NewDocLang(a.Title, a.URL, articles.MatchText(a), a.Lang)
	var alerts []delivery.Alert
	var items []delivery.Digest
	var reworded []wording
	now := time.Now().UTC()
	seen := map[uint32]struct{}{}
	m.mu.RLock()
	m.idx.MatchFunc(doc, func(id, query string) bool {
		num, topic, ok := parseRef(id)
		if !ok || int(num) >= len(m.targets) {
			return true
		}
		if _, dup := seen[num]; dup {
			return true
		}
		seen[num] = struct{}{}
		t := &m.targets[num]
		sub := m.subID(num)
		var text *string
		switch t.kind {
		case kindTelegram:
			alerts = append(alerts, delivery.Alert{Sub: sub, ChatID: t.chatID, Article: a.ID, Topic: query})
			text = &alerts[len(alerts)-1].Topic
		case kindEmail:
			items = append(items, delivery.Digest{Sub: sub, Item: delivery.Item{Article: a.ID, Topic: query, At: now}})
			text = &items[len(items)-1].Item.Topic
		}
		if text != nil && t.reworded&rewordedBit(topic) != 0 {
			reworded = append(reworded, wording{sub: sub, topic: topic, kind: t.kind, at: len(alerts) - 1})
			if t.kind == kindEmail {
				reworded[len(reworded)-1].at = len(items) - 1
			}
		}
		return true
	})
	m.mu.RUnlock()
	if len(reworded) > 0 {
		m.reword(ctx, reworded, alerts, items)
	}
	nt, ne, err := delivery.EnqueueBatch(ctx, m.st, story, alerts, items)
	if m.Matched != nil {
		for range nt {
			m.Matched(subscriptions.KindTelegram)
		}
		for range ne {
			m.Matched(subscriptions.KindEmail)
		}
	}
	if err != nil {
		return err
	}
	if len(seen) > 0 {
		m.log.Info("article matched", "article", a.ID, "title", a.Title, "subscribers", len(seen))
	}
	return nil
}

// wording is a matched topic whose subscriber wrote it otherwise than in
// its normalised form: which alert or digest item (at, of kind) shows it.
type wording struct {
	sub   string
	topic int
	kind  uint8
	at    int
}

// reword gives the deliveries of reworded topics the topics' words as
// their subscribers wrote them, read from Redis. A topic changed since it
// was indexed (its line now normalises to another query), or one Redis
// could not give, keeps the normalised form the index gave.
func (m *Matcher) reword(ctx context.Context, ws []wording, alerts []delivery.Alert, items []delivery.Digest) {
	ids := make([]string, len(ws))
	for i, w := range ws {
		ids[i] = w.sub
	}
	lines, err := m.subs.TopicLines(ctx, ids)
	if err != nil {
		m.log.Warn("cannot read how subscribers wrote their topics; their alerts show the normalised form", "subscribers", len(ids), "err", err)
		return
	}
	for i, w := range ws {
		text := &alerts[w.at].Topic
		if w.kind == kindEmail {
			text = &items[w.at].Item.Topic
		}
		line := nthLine(lines[i], w.topic)
		if q, err := subscriptions.Parse(line); err == nil && q.String() == *text {
			*text = line
		}
	}
}

// nthLine returns line n of s (0-based), "" if there is none.
func nthLine(s string, n int) string {
	for ; n > 0; n-- {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			return ""
		}
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
