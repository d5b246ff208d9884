package matcher

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

// The partition of a subscriber is part of the stored format: these
// values must never change. XXH64 of "" is 0xef46db3751d8e999, as the
// xxHash specification gives it.
func TestPartitionOf(t *testing.T) {
	golden := []struct {
		id      string
		n, want int
	}{
		{"", 4, 0xef46db3751d8e999 % 4}, {"", 1024, 0xef46db3751d8e999 % 1024}, {"", 7, 0xef46db3751d8e999 % 7},
		{"tg:1", 4, 2}, {"tg:1", 1024, 186}, {"tg:1", 7, 4},
		{"mail:r0", 4, 0}, {"mail:r0", 1024, 284}, {"mail:r0", 7, 6},
		{"tg:-1001234567890", 4, 2}, {"tg:-1001234567890", 1024, 962},
		{"tg:1", 1, 0}, {"tg:1", 0, 0},
	}
	for _, g := range golden {
		if got := PartitionOf(g.id, g.n); got != g.want {
			t.Errorf("PartitionOf(%q, %d) = %d, want %d", g.id, g.n, got, g.want)
		}
	}
	// Sequential chats, and chats written with even digits only (which
	// FNV-1a would put all in partition 0 of 2 or 4), spread evenly:
	// 10,000 ids in 4 parts are 2,500 each give or take a few standard
	// deviations (43). The ids are fixed, so this cannot flake.
	evenDigits := func(i int) string { // i in base 5, digits doubled
		b := []byte(strconv.FormatInt(int64(i), 5))
		for j := range b {
			b[j] = '0' + 2*(b[j]-'0')
		}
		return "tg:2" + string(b)
	}
	for name, id := range map[string]func(int) string{
		"sequential":  func(i int) string { return "tg:" + strconv.Itoa(1000+i) },
		"even digits": evenDigits,
	} {
		counts := make([]int, 4)
		for i := range 10000 {
			counts[PartitionOf(id(i), 4)]++
		}
		for k, c := range counts {
			if c < 2300 || c > 2700 {
				t.Errorf("%s ids: partition %d of 4 holds %d of 10000: %v", name, k, c, counts)
			}
		}
	}
}

// held is the set of subscribers m's index matches doc for.
func held(m *Matcher, doc *subscriptions.Doc) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var ids []string
	for _, ref := range m.idx.Match(doc) {
		if num, _, ok := parseRef(ref); ok {
			ids = append(ids, m.subID(num))
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// Two partitions load and follow disjoint halves of the subscribers, whose
// union is all of them.
func TestPartitionsSplitSubscribers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := storetest.New(t)
	subs := subscriptions.NewStore(st)
	put := func(id int64) {
		t.Helper()
		s := &subscriptions.Subscriber{ID: subscriptions.TelegramID(id), Kind: subscriptions.KindTelegram, ChatID: id, Topics: []string{"drone"}, Status: subscriptions.StatusActive}
		if err := subs.Put(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	want := [2][]string{}
	for id := int64(1); id <= 40; id++ {
		put(id)
		sid := subscriptions.TelegramID(id)
		want[PartitionOf(sid, 2)] = append(want[PartitionOf(sid, 2)], sid)
	}
	var ms [2]*Matcher
	for k := range ms {
		m := New(st, subs, nil)
		m.Partition, m.Partitions = k, 2
		from, err := m.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		go m.Follow(ctx, from)
		ms[k] = m
	}
	a := &article.Article{ID: "a1", URL: "https://news.example/a1", Title: "Drones over Minsk", Text: "Belarus tested new drones."}
	doc := subscriptions.NewDoc(a.Title, a.URL, articles.MatchText(a))
	for k, m := range ms {
		slices.Sort(want[k])
		if got := held(m, doc); !slices.Equal(got, want[k]) {
			t.Errorf("partition %d/2 holds %v, want %v", k, got, want[k])
		}
	}
	if len(want[0]) == 0 || len(want[1]) == 0 {
		t.Fatalf("40 subscribers all in one partition: %v", want)
	}

	// New subscribers of partition 1, then 0, then 1 again: each matcher
	// applies its own, in order, so once it has one it has passed over
	// the other partition's before it.
	var next [2][]int64
	for id := int64(100); len(next[0]) < 1 || len(next[1]) < 2; id++ {
		k := PartitionOf(subscriptions.TelegramID(id), 2)
		next[k] = append(next[k], id)
	}
	first1, only0, last1 := next[1][0], next[0][0], next[1][1]
	for _, id := range []int64{first1, only0, last1} {
		put(id)
	}
	indexed(t, ms[0], doc, len(want[0])+1)
	indexed(t, ms[1], doc, len(want[1])+2)
	if got := held(ms[0], doc); slices.Contains(got, subscriptions.TelegramID(first1)) || !slices.Contains(got, subscriptions.TelegramID(only0)) {
		t.Errorf("partition 0/2 holds %v after the changes", got)
	}
	if got := held(ms[1], doc); slices.Contains(got, subscriptions.TelegramID(only0)) {
		t.Errorf("partition 1/2 holds %v, with partition 0's %s", got, subscriptions.TelegramID(only0))
	}
}

// A matcher of one partition creates the groups of all of them, so that an
// article waits for a partition none of whose matchers has started, and it
// warns of groups left by another partition count.
func TestEnsureCreatesEveryPartitionsGroup(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	subs := subscriptions.NewStore(st)
	old := New(st, subs, nil)
	if err := old.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	rec := newRecords()
	m := New(st, subs, slog.New(rec))
	m.Partition, m.Partitions = 1, 3
	if err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	key := articles.StreamKey(st)
	if err := st.Redis.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: map[string]any{"article": "a1"}}).Err(); err != nil {
		t.Fatal(err)
	}
	gs, err := st.Redis.XInfoGroups(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range gs {
		names = append(names, g.Name)
	}
	slices.Sort(names)
	if want := []string{"matcher", "matcher:0/3", "matcher:1/3", "matcher:2/3"}; !slices.Equal(names, want) {
		t.Fatalf("groups on the article stream: %v, want %v", names, want)
	}
	// Partition 2/3 has no matcher yet: the article is still there for it.
	res, err := st.Redis.XReadGroup(ctx, &redis.XReadGroupArgs{Group: articles.MatcherGroup(2, 3), Consumer: "late", Streams: []string{key, ">"}, Count: 10, Block: -1}).Result()
	if err != nil || len(res) != 1 || len(res[0].Messages) != 1 || res[0].Messages[0].Values["article"] != "a1" {
		t.Fatalf("partition 2/3 reads %v, %v; want the article a1", res, err)
	}

	m.warnOtherPartitions(ctx)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	warned := 0
	for _, msg := range rec.msgs {
		if strings.HasPrefix(msg, "the article stream has a matcher group of another partition count") {
			warned++
		}
	}
	if warned != 1 {
		t.Errorf("warned %d times of groups of another partition count, want once (the group matcher, of 0/1): %q", warned, rec.msgs)
	}
}
