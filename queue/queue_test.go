package queue

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/store/storetest"
)

// Entries are handed to one consumer, a failed entry is retried after
// ClaimAfter by another consumer, and finished entries are trimmed while
// unfinished ones stay however many there are.
func TestStreamClaimAndTrim(t *testing.T) {
	st := storetest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mk := func(name string) *Stream {
		return &Stream{Redis: st.Redis, Key: st.Key("q"), Group: "g", Consumer: name, ClaimAfter: 300 * time.Millisecond, Block: 50 * time.Millisecond}
	}
	a, b := mk("a"), mk("b")
	if err := a.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := a.Add(ctx, map[string]any{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]string{}
	failedOnce := false
	handler := func(who string) Handler {
		return func(ctx context.Context, m Message) error {
			mu.Lock()
			defer mu.Unlock()
			if m.Get("n") == "7" && !failedOnce {
				failedOnce = true
				return errors.New("boom") // left pending: b must claim it
			}
			if prev, ok := seen[m.Get("n")]; ok {
				t.Errorf("entry %s handled twice (by %s and %s)", m.Get("n"), prev, who)
			}
			seen[m.Get("n")] = who
			return nil
		}
	}
	var running sync.WaitGroup
	for _, c := range []*Stream{a, b} {
		running.Add(1)
		go func() { defer running.Done(); c.Run(ctx, handler(c.Consumer)) }()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n == 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of 20 entries handled; the failed one was not claimed again", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	// Both consumers must have stopped: one still blocked in a read would
	// take the entries added below, and then they would not be unread.
	running.Wait()
	if err := a.TrimAcked(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Redis.XLen(context.Background(), a.Key).Result(); n > 1 {
		// XTRIM MINID with ~ may keep a partial node; nothing unacked remains.
		t.Logf("after trim the stream holds %d entries", n)
	}
	// Unacknowledged entries are never trimmed.
	ctx2 := context.Background()
	var unread []string
	for i := range 5 {
		id, err := a.Add(ctx2, map[string]any{"n": 100 + i})
		if err != nil {
			t.Fatal(err)
		}
		unread = append(unread, id)
	}
	if err := a.TrimAcked(ctx2); err != nil {
		t.Fatal(err)
	}
	for _, id := range unread {
		if xs, _ := st.Redis.XRange(ctx2, a.Key, id, id).Result(); len(xs) != 1 {
			t.Fatalf("trim removed unread entry %s", id)
		}
	}
}

// The trim floor is the oldest entry some group still needs, whichever
// group that is: its oldest pending entry, else its first unread one. The
// floor is checked itself because real Redis trims approximately (whole
// nodes of about 100 entries) and so keeps a short stream whatever the
// floor, while the embedded server trims exactly.
func TestTrimKeepsWhatAnyGroupNeeds(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	key := st.Key("q")
	fast := &Stream{Redis: st.Redis, Key: key, Group: "fast", Consumer: "f"}
	slow := &Stream{Redis: st.Redis, Key: key, Group: "slow", Consumer: "s"}
	for _, s := range []*Stream{fast, slow} {
		s.defaults()
		if err := s.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if f, err := fast.trimFloor(ctx); err != nil || f != "" {
		t.Fatalf("floor of an empty stream = %q, %v; want nothing to trim", f, err)
	}
	var ids []string
	for i := range 12 {
		id, err := fast.Add(ctx, map[string]any{"n": i})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	take := func(s *Stream, n int64) []Message {
		t.Helper()
		msgs, err := s.read(ctx, n)
		if err != nil || len(msgs) != int(n) {
			t.Fatalf("%s read %d entries, %v; want %d", s.Group, len(msgs), err, n)
		}
		return msgs
	}
	// check wants the floor just above entry i-1 and at or below entry i,
	// the first one some group still needs (i == len(ids): none).
	check := func(what string, i int) {
		t.Helper()
		got, err := fast.trimFloor(ctx)
		if err != nil || !lessID(ids[i-1], got) || (i < len(ids) && lessID(ids[i], got)) {
			t.Fatalf("%s: floor = %q, %v; want one above %s, up to the first entry needed", what, got, err, ids[i-1])
		}
		if err := fast.TrimAcked(ctx); err != nil {
			t.Fatal(err)
		}
		// Everything still needed is still there.
		for _, id := range ids[i:] {
			if xs, _ := st.Redis.XRange(ctx, key, id, id).Result(); len(xs) != 1 {
				t.Fatalf("%s: entry %s, still needed, was trimmed", what, id)
			}
		}
	}
	if f, err := fast.trimFloor(ctx); err != nil || f != "" {
		t.Fatalf("floor before any read = %q, %v; want nothing to trim", f, err)
	}

	// fast reads and acknowledges 8, slow reads 4 and acknowledges 2 of
	// them: slow's oldest pending entry is the floor.
	for _, m := range take(fast, 8) {
		fast.Ack(ctx, m.ID)
	}
	sm := take(slow, 4)
	slow.Ack(ctx, sm[0].ID)
	slow.Ack(ctx, sm[2].ID)
	check("slow has entries pending", 1)

	// slow finishes its four: its first unread entry is the floor.
	slow.Ack(ctx, sm[1].ID)
	slow.Ack(ctx, sm[3].ID)
	check("slow has read 4", 4)

	// slow catches up and passes fast, which holds one entry pending.
	for _, m := range take(slow, 8) {
		slow.Ack(ctx, m.ID)
	}
	fm := take(fast, 2)
	fast.Ack(ctx, fm[1].ID)
	check("fast has entry 8 pending", 8)

	// Both done: the floor is after the last entry, nothing unread is left.
	fast.Ack(ctx, fm[0].ID)
	for _, m := range take(fast, 2) {
		fast.Ack(ctx, m.ID)
	}
	check("all acknowledged", len(ids))
}

// Consume takes no more than room allows; entries it handed out stay
// pending until acknowledged (also inside a transaction), and renewed ones
// are not claimed by another consumer.
func TestConsumeRoomAckAndRenew(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	mk := func(name string) *Stream {
		return &Stream{Redis: st.Redis, Key: st.Key("{q}"), Group: "g", Consumer: name, ClaimAfter: 200 * time.Millisecond, Block: 50 * time.Millisecond}
	}
	a, b := mk("a"), mk("b")
	if err := a.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := a.Add(ctx, map[string]any{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	var got []Message
	err := a.Consume(cctx, func(context.Context) int { return 3 }, func(_ context.Context, ms []Message) {
		got = append(got, ms...)
		cancel()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Consume returned %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("took %d entries with room for 3", len(got))
	}
	pending := func() int64 {
		p, err := st.Redis.XPending(ctx, a.Key, a.Group).Result()
		if err != nil {
			t.Fatal(err)
		}
		return p.Count
	}
	if n := pending(); n != 3 {
		t.Fatalf("%d pending after the batch, want 3", n)
	}
	if err := a.Ack(ctx, got[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, st.Key("{q}", "moved"), got[1].ID, time.Minute)
		a.AckIn(ctx, p, got[1].ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := pending(); n != 1 {
		t.Fatalf("%d pending after two acks, want 1", n)
	}
	// The one left goes idle past ClaimAfter; renewed, it stays with a.
	waitIdle := func() {
		for {
			ps, err := st.Redis.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: a.Key, Group: a.Group, Start: "-", End: "+", Count: 1}).Result()
			if err != nil || len(ps) != 1 {
				t.Fatalf("pending entries: %v, %v", ps, err)
			}
			if ps[0].Idle > a.ClaimAfter {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitIdle()
	if err := a.Renew(ctx, got[2].ID); err != nil {
		t.Fatal(err)
	}
	if ms, err := b.claim(ctx, 10); err != nil || len(ms) != 0 {
		t.Fatalf("b claimed %d renewed entries (%v)", len(ms), err)
	}
	waitIdle()
	if ms, err := b.claim(ctx, 10); err != nil || len(ms) != 1 || ms[0].ID != got[2].ID || ms[0].Retries == 0 {
		t.Fatalf("b claimed %+v (%v), want the idle entry", ms, err)
	}
}

// ConsumeAll reads several streams (in different hash slots) in one loop:
// every entry reaches one consumer, named by its stream, no round hands on
// more than room allowed, a stream with a backlog does not starve the
// others, and an entry left unacknowledged in one stream is claimed by the
// other consumer.
func TestConsumeAllShards(t *testing.T) {
	st := storetest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	keys := []string{st.Key("{qa}", "q"), st.Key("{qb}", "q"), st.Key("{qc}", "q")}
	streams := func(consumer string) []*Stream {
		var out []*Stream
		for _, k := range keys {
			out = append(out, &Stream{Redis: st.Redis, Key: k, Group: "g", Consumer: consumer,
				ClaimAfter: 400 * time.Millisecond, Block: 50 * time.Millisecond})
		}
		return out
	}
	a, b := streams("a"), streams("b")
	for _, s := range a {
		if err := s.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// A backlog of 200 in the first stream, 5 in each of the others.
	for i, s := range a {
		n := 5
		if i == 0 {
			n = 200
		}
		for j := range n {
			if _, err := s.Add(ctx, map[string]any{"k": s.Key, "n": j}); err != nil {
				t.Fatal(err)
			}
		}
	}
	const room = 4
	var mu sync.Mutex
	seen := map[string]int{} // key/n → times acknowledged
	var firstRounds [][]string
	left := "" // the entry a leaves unacknowledged
	var claimed Message
	consume := func(ctx context.Context, name string, ss []*Stream) {
		_ = ConsumeAll(ctx, ss, func(context.Context) int { return room }, func(ctx context.Context, msgs []Message) {
			mu.Lock()
			defer mu.Unlock()
			if len(msgs) > room {
				t.Errorf("%s was handed %d entries, room was %d", name, len(msgs), room)
			}
			var streamsOf []string
			for _, m := range msgs {
				if m.Get("k") != m.Stream {
					t.Errorf("entry of %s came as one of %s", m.Get("k"), m.Stream)
				}
				streamsOf = append(streamsOf, m.Stream)
				id := m.Stream + "/" + m.Get("n")
				if name == "a" && (left == "" && m.Stream == keys[1] || id == left) {
					left = id // a never acknowledges it
					continue
				}
				if id == left {
					claimed = m
				}
				seen[id]++
				var s *Stream
				for _, x := range ss {
					if x.Key == m.Stream {
						s = x
					}
				}
				if err := s.Ack(ctx, m.ID); err != nil {
					t.Error(err)
				}
			}
			if name == "a" && len(firstRounds) < 3 {
				firstRounds = append(firstRounds, streamsOf)
			}
		})
	}
	actx, stopA := context.WithCancel(ctx)
	aDone := make(chan struct{})
	go func() { consume(actx, "a", a); close(aDone) }()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			ok := cond()
			mu.Unlock()
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting until %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("a read all but one", func() bool { return len(seen) == 209 })
	// The first rounds took from the small streams too, not only from the
	// backlog of the first.
	others := 0
	for _, r := range firstRounds {
		for _, k := range r {
			if k != keys[0] {
				others++
			}
		}
	}
	if others == 0 {
		t.Errorf("the first rounds read only the first stream: %v", firstRounds)
	}
	// a stops, leaving its one entry pending; b takes it over.
	stopA()
	<-aDone
	go consume(ctx, "b", b)
	waitFor("b claimed the entry a left", func() bool { return len(seen) == 210 })
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s acknowledged %d times", id, n)
		}
	}
	if claimed.Retries == 0 || claimed.Stream != keys[1] {
		t.Errorf("the entry a left came back as %+v, want a retry from %s", claimed, keys[1])
	}
}
