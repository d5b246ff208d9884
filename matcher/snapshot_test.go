package matcher

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

// deliveriesOf lists what m would deliver for doc: to whom, how, for
// which topic, and whether the topic's wording must be read.
func deliveriesOf(m *Matcher, doc *subscriptions.Doc) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []string
	for _, ref := range m.idx.Match(doc) {
		num, topic, ok := parseRef(ref)
		if !ok {
			continue
		}
		t := &m.targets[num]
		out = append(out, fmt.Sprintf("%s kind=%d chat=%d topic=%d reworded=%v", m.subID(num), t.kind, t.chatID, topic, t.reworded&rewordedBit(topic) != 0))
	}
	slices.Sort(out)
	return out
}

// caughtUp waits until m has applied the change stream to its end.
func caughtUp(t *testing.T, m *Matcher) {
	t.Helper()
	ctx := context.Background()
	xs, err := m.st.Redis.XRevRangeN(ctx, m.subs.ChangesKey(), "+", "-", 1).Result()
	if err != nil || len(xs) == 0 {
		t.Fatalf("change stream: %v, %d entries", err, len(xs))
	}
	for limit := time.Now().Add(30 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		if at := m.applied.Load(); at != nil && *at == xs[0].ID {
			return
		}
		if time.Now().After(limit) {
			t.Fatalf("the matcher never applied the change stream up to %s", xs[0].ID)
		}
	}
}

// A matcher started from a snapshot, then following the changes made
// since it was saved, delivers exactly what one loaded from Redis does:
// to the same subscribers, by the same means, for the same topics.
func TestSnapshotRestartsWhereItStopped(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := storetest.New(t)
	subs := subscriptions.NewStore(st)
	r := rand.New(rand.NewPCG(3, 4))
	words := strings.Fields("minsk belarus drones iran vilnius riga tallinn warsaw kyiv grain election sanctions pipeline harbour border")
	topic := func() string {
		switch r.IntN(5) {
		case 0:
			return words[r.IntN(len(words))] + " OR " + words[r.IntN(len(words))]
		case 1: // not in its normalised form
			return strings.ToUpper(words[r.IntN(len(words))]) + "  " + words[r.IntN(len(words))]
		case 2:
			return `"` + words[r.IntN(len(words))] + " " + words[r.IntN(len(words))] + `"`
		}
		return words[r.IntN(len(words))]
	}
	put := func(i int) {
		t.Helper()
		s := &subscriptions.Subscriber{ID: subscriptions.TelegramID(int64(i)), Kind: subscriptions.KindTelegram, ChatID: int64(i), Status: subscriptions.StatusActive}
		if i%7 == 0 {
			s = &subscriptions.Subscriber{ID: fmt.Sprint("mail:", i), Kind: subscriptions.KindEmail, Email: fmt.Sprint("r", i, "@example.org"), Status: subscriptions.StatusActive}
		}
		if i%11 == 0 {
			s.Status = subscriptions.StatusPaused
		}
		for range 1 + r.IntN(6) { // up to 6: more than a target holds itself
			s.Topics = append(s.Topics, topic())
		}
		if err := subs.Put(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 300; i++ {
		put(i)
	}
	path := filepath.Join(t.TempDir(), "matcher.snap")
	first := New(st, subs, nil)
	first.SnapshotPath = path
	from, err := first.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go first.Follow(ctx, from)
	for i := 1; i <= 40; i++ { // taken out, so some targets are free
		subs.Delete(ctx, subscriptions.TelegramID(int64(i*3)))
	}
	caughtUp(t, first)
	if err := first.SaveSnapshot(); err != nil {
		t.Fatal(err)
	}
	// Changes after the snapshot: new subscribers, new topics, removals.
	for i := 301; i <= 340; i++ {
		put(i)
	}
	for i := 1; i <= 30; i++ {
		put(i * 5)
		subs.Delete(ctx, subscriptions.TelegramID(int64(i*4)))
	}

	restarted := New(st, subs, nil)
	restarted.SnapshotPath = path
	from, err = restarted.Restore(ctx)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	go restarted.Follow(ctx, from)
	fresh := New(st, subs, nil)
	from, err = fresh.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go fresh.Follow(ctx, from)
	compare := func(stage string) {
		t.Helper()
		caughtUp(t, restarted)
		caughtUp(t, fresh)
		total := 0
		for range 200 {
			var b strings.Builder
			for range 1 + r.IntN(8) {
				b.WriteString(words[r.IntN(len(words))] + " ")
			}
			doc := subscriptions.NewDoc(b.String(), "https://news.example/a", b.String())
			got, want := deliveriesOf(restarted, doc), deliveriesOf(fresh, doc)
			if !slices.Equal(got, want) {
				t.Fatalf("%s: for %q the restarted matcher delivers %d, one loaded from Redis %d:\n%v\nwant\n%v", stage, b.String(), len(got), len(want), got, want)
			}
			total += len(got)
		}
		if total == 0 {
			t.Fatalf("%s: nothing matched: the comparison checks nothing", stage)
		}
	}
	compare("restored")
	for i := 341; i <= 360; i++ {
		put(i)
		put(i - 300)
	}
	compare("after later changes")
	if err := restarted.SaveSnapshot(); err != nil {
		t.Fatal(err)
	}
}

// A snapshot that does not fit is not used, and says why: another
// partition, another Redis, a change stream trimmed past it, a file
// damaged.
func TestSnapshotRefusedWhenItDoesNotHold(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	subs := subscriptions.NewStore(st)
	for i := int64(1); i <= 5; i++ {
		subs.Put(ctx, &subscriptions.Subscriber{ID: subscriptions.TelegramID(i), Kind: subscriptions.KindTelegram, ChatID: i, Status: subscriptions.StatusActive, Topics: []string{"minsk"}})
	}
	path := filepath.Join(t.TempDir(), "matcher.snap")
	m := New(st, subs, nil)
	m.SnapshotPath = path
	if _, err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.SaveSnapshot(); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	try := func(name, want string, prepare func(m *Matcher)) {
		t.Helper()
		os.WriteFile(path, good, 0o600)
		m := New(st, subs, nil)
		m.SnapshotPath = path
		if prepare != nil {
			prepare(m)
		}
		_, err := m.Restore(ctx)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: restore = %v, want an error saying %q", name, err, want)
		}
	}
	good1 := New(st, subs, nil)
	good1.SnapshotPath = path
	if _, err := good1.Restore(ctx); err != nil {
		t.Fatalf("the good snapshot: %v", err)
	}
	try("another partition", "partition 0/1, not 1/2", func(m *Matcher) { m.Partition, m.Partitions = 1, 2 })
	try("damaged", "damaged", func(m *Matcher) {
		b := slices.Clone(good)
		b[len(b)/2] ^= 0x40
		os.WriteFile(path, b, 0o600)
	})
	try("trimmed", "no longer holds", func(m *Matcher) {
		subs.Put(ctx, &subscriptions.Subscriber{ID: "tg:9", Kind: subscriptions.KindTelegram, ChatID: 9, Status: subscriptions.StatusActive, Topics: []string{"riga"}})
		st.Redis.XTrimMaxLen(ctx, subs.ChangesKey(), 1)
	})
	try("another Redis", "epoch differs", func(m *Matcher) {
		st.Redis.Del(ctx, st.Key("{subs}", "epoch"))
	})
}

// Run saves a snapshot once loaded and, stopping with changes the last
// one does not hold, once more; started again, it reads that one.
func TestRunKeepsSnapshots(t *testing.T) {
	st := storetest.New(t)
	subs := subscriptions.NewStore(st)
	put := func(id int64, topic string) {
		t.Helper()
		if err := subs.Put(context.Background(), &subscriptions.Subscriber{ID: subscriptions.TelegramID(id), Kind: subscriptions.KindTelegram, ChatID: id, Status: subscriptions.StatusActive, Topics: []string{topic}}); err != nil {
			t.Fatal(err)
		}
	}
	put(1, "minsk")
	path := filepath.Join(t.TempDir(), "state", "matcher.snap") // its directory is made
	run := func() (*Matcher, context.CancelFunc, chan error) {
		m := New(st, subs, nil)
		m.SnapshotPath = path
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()
		return m, cancel, done
	}
	stopped := func(cancel context.CancelFunc, done chan error) {
		t.Helper()
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return")
		}
	}
	m, cancel, done := run()
	waitFile := func() {
		t.Helper()
		for limit := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if _, err := os.Stat(path); err == nil {
				return
			}
			if time.Now().After(limit) {
				t.Fatal("no snapshot was saved after loading")
			}
		}
	}
	waitFile()
	put(2, "riga") // after the index was read back from the snapshot
	caughtUp(t, m)
	doc := subscriptions.NewDoc("Riga and Minsk", "https://news.example/a", "")
	indexed(t, m, doc, 2)
	stopped(cancel, done)
	if m.saved != *m.applied.Load() {
		t.Fatalf("stopped with the snapshot at %s, the index at %s", m.saved, *m.applied.Load())
	}

	again, cancel, done := run()
	defer stopped(cancel, done)
	indexed(t, again, doc, 2)
	if again.saved != m.saved {
		t.Errorf("restarted at %s, not at the snapshot's %s: it loaded from Redis", again.saved, m.saved)
	}
}
