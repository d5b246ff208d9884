package subscriptions

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/herald-news/herald/store/storetest"
)

func TestStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := NewStore(storetest.New(t))
	in := &Subscriber{
		ID: "mail:1", Kind: KindEmail, Email: "a@example.org", Topics: []string{"belarus", `"military cooperation" -israel`},
		Status: StatusActive, Frequency: "daily", Hour: 7, TZ: "Europe/Vilnius", Created: time.Unix(1_700_000_000, 0).UTC(),
		PausedUntil: time.Unix(1_800_000_000, 0).UTC(), Quiet: "22:00-07:00", Muted: []string{"belarus"}, Lang: "en",
		LinkedTo: "tg:5", Data: map[string]string{"bot:mode": "hourly"},
	}
	if err := s.Put(ctx, in); err != nil {
		t.Fatal(err)
	}
	out, err := s.Get(ctx, "mail:1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip changed the subscriber:\n in %+v\nout %+v", in, out)
	}
	if got, err := s.ByEmail(ctx, "A@example.org"); err != nil || got.ID != "mail:1" {
		t.Fatalf("ByEmail = %v, %v", got, err)
	}
	if _, err := s.AddTopic(ctx, "mail:1", "BELARUS"); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate topic: err = %v", err)
	}
	if _, err := s.AddTopic(ctx, "mail:1", "bad\ntopic"); err == nil {
		t.Fatal("a topic with a line break was stored")
	}
	if removed, err := s.RemoveTopic(ctx, "mail:1", 1); err != nil || removed != "belarus" {
		t.Fatalf("RemoveTopic = %q, %v", removed, err)
	}
	if _, err := s.RemoveTopic(ctx, "mail:1", 5); !errors.Is(err, ErrNoSuchTopic) {
		t.Fatalf("RemoveTopic(5) err = %v", err)
	}
	var ids []string
	if err := s.Scan(ctx, func(x *Subscriber) error { ids = append(ids, x.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != "mail:1" {
		t.Fatalf("Scan = %v", ids)
	}
	if err := s.Delete(ctx, "mail:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "mail:1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after Delete, Get err = %v", err)
	}
	if _, err := s.ByEmail(ctx, "a@example.org"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after Delete, ByEmail err = %v", err)
	}
	n, _ := s.st.Redis.XLen(ctx, s.ChangesKey()).Result()
	if n != 3 { // Put, RemoveTopic, Delete; refused changes announce nothing
		t.Fatalf("change stream has %d entries, want 3: every change and nothing else is announced", n)
	}
}

// Scan must list subscribers only, and must not fail on the other keys
// that live under "sub:{id}" (digest lists, delivery markers): the fault
// suite found a matcher that could not load its index after any email
// reader had a digest item waiting.
func TestScanSkipsOtherKeysOfASubscriber(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	s := NewStore(st)
	err := s.Import(ctx, []*Subscriber{
		{ID: "mail:1", Kind: KindEmail, Email: "a@example.org", Topics: []string{"belarus"}, Status: StatusActive},
		{ID: "tg:2", Kind: KindTelegram, ChatID: 2, Topics: []string{"iran"}, Status: StatusActive},
	})
	if err != nil {
		t.Fatal(err)
	}
	st.Redis.RPush(ctx, Key(st, "mail:1", "digest"), `{"a":"x"}`)
	st.Redis.Set(ctx, Key(st, "mail:1", "got", "story"), "1", 0)
	var ids []string
	if err := s.Scan(ctx, func(sub *Subscriber) error { ids = append(ids, sub.ID); return nil }); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if len(ids) != 2 {
		t.Fatalf("Scan listed %v, want the two subscribers", ids)
	}
	if sub, err := s.Get(ctx, "tg:2"); err != nil || sub.ChatID != 2 || sub.Topics[0] != "iran" {
		t.Fatalf("imported subscriber = %+v, %v", sub, err)
	}
}

func TestLinkedTopicsFollow(t *testing.T) {
	ctx := context.Background()
	s := NewStore(storetest.New(t))
	chat := &Subscriber{ID: "tg:9", Kind: KindTelegram, ChatID: 9, Status: StatusActive, Topics: []string{"belarus"}, LinkedTo: "mail:9"}
	reader := &Subscriber{ID: "mail:9", Kind: KindEmail, Email: "r@example.org", Status: StatusActive, Topics: []string{"belarus"}, LinkedTo: "tg:9"}
	loner := &Subscriber{ID: "mail:10", Kind: KindEmail, Email: "l@example.org", Status: StatusActive, Topics: []string{"x"}}
	for _, x := range []*Subscriber{chat, reader, loner} {
		if err := s.Put(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddTopic(ctx, "tg:9", "drones"); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(ctx, "mail:9")
	if !reflect.DeepEqual(got.Topics, []string{"belarus", "drones"}) {
		t.Fatalf("linked reader's topics = %v; want the chat's", got.Topics)
	}
	if _, err := s.RemoveTopic(ctx, "mail:9", 1); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Get(ctx, "tg:9")
	if !reflect.DeepEqual(got.Topics, []string{"drones"}) {
		t.Fatalf("chat's topics after the reader removed one = %v", got.Topics)
	}
	// A link that does not point back copies nothing.
	if _, err := s.Update(ctx, "mail:10", func(x *Subscriber) error { x.LinkedTo = "tg:9"; x.Topics = []string{"y"}; return nil }); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Get(ctx, "tg:9")
	if !reflect.DeepEqual(got.Topics, []string{"drones"}) {
		t.Fatalf("a one-sided link changed the chat's topics to %v", got.Topics)
	}
}

func TestKey(t *testing.T) {
	st := storetest.New(t)
	for _, c := range []struct {
		id    string
		parts []string
		want  string
	}{
		{"tg:5", nil, "sub:{tg:5}"},
		{"mail:ab", []string{"digest"}, "sub:{mail:ab}:digest"},
		{"mail:ab", []string{"got", "story1"}, "sub:{mail:ab}:got:story1"},
	} {
		k := Key(st, c.id, c.parts...)
		if k != st.Prefix+c.want {
			t.Errorf("Key(%q, %q) = %q, want the prefix and %q", c.id, c.parts, k, c.want)
		}
		if got := KeyID(k); got != c.id {
			t.Errorf("KeyID(%q) = %q, want %q", k, got, c.id)
		}
	}
}

// SyncLinked mends what Update's copy missed: a reader whose chat's topics
// moved on gets them, and a link the chat dropped is forgotten.
func TestSyncLinked(t *testing.T) {
	ctx := context.Background()
	s := NewStore(storetest.New(t))
	chat := &Subscriber{ID: "tg:9", Kind: KindTelegram, ChatID: 9, Status: StatusActive, Topics: []string{"belarus", "drones"}, LinkedTo: "mail:9"}
	stale := &Subscriber{ID: "mail:9", Kind: KindEmail, Email: "r@example.org", Status: StatusActive, Topics: []string{"belarus"}, LinkedTo: "tg:9"}
	dropped := &Subscriber{ID: "mail:10", Kind: KindEmail, Email: "d@example.org", Status: StatusActive, Topics: []string{"x"}, LinkedTo: "tg:9"}
	for _, x := range []*Subscriber{chat, stale, dropped} {
		if err := s.Put(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.SyncLinked(ctx, stale)
	if err != nil || !reflect.DeepEqual(got.Topics, chat.Topics) {
		t.Fatalf("SyncLinked(stale) = %+v, %v; want the chat's topics", got, err)
	}
	if stored, _ := s.Get(ctx, stale.ID); !reflect.DeepEqual(stored.Topics, chat.Topics) {
		t.Fatalf("stored topics after SyncLinked = %v", stored.Topics)
	}
	got, err = s.SyncLinked(ctx, dropped)
	if err != nil || got.LinkedTo != "" || !reflect.DeepEqual(got.Topics, []string{"x"}) {
		t.Fatalf("SyncLinked(one-sided link) = %+v, %v; want the link forgotten, the topics kept", got, err)
	}
}

// A Telegram chat stores neither kind nor chat (its id says both); one
// whose id does not say them, and hashes written before, keep them.
func TestTelegramFieldsImplied(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	s := NewStore(st)
	chat := &Subscriber{ID: TelegramID(-1001234), Kind: KindTelegram, ChatID: -1001234, Topics: []string{"belarus"}, Status: StatusActive, Created: time.Unix(1_700_000_000, 0).UTC()}
	moved := &Subscriber{ID: "tg:77", Kind: KindTelegram, ChatID: 78, Topics: []string{"minsk"}, Status: StatusActive, Created: time.Unix(1_700_000_000, 0).UTC()}
	if err := s.Import(ctx, []*Subscriber{chat, moved}); err != nil {
		t.Fatal(err)
	}
	fields, err := st.Redis.HKeys(ctx, Key(st, chat.ID)).Result()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(fields, "k") || slices.Contains(fields, "chat") {
		t.Errorf("fields of %s: %v; kind and chat are implied by the id", chat.ID, fields)
	}
	// Written before kind and chat were implied.
	st.Redis.HSet(ctx, Key(st, "tg:90"), "k", KindTelegram, "chat", 90, "s", StatusActive, "q", "vilnius", "c", 1_700_000_000)
	old := &Subscriber{ID: "tg:90", Kind: KindTelegram, ChatID: 90, Topics: []string{"vilnius"}, Status: StatusActive, Created: time.Unix(1_700_000_000, 0).UTC()}
	for _, want := range []*Subscriber{chat, moved, old} {
		got, err := s.Get(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Get(%s) = %+v, want %+v", want.ID, got, want)
		}
	}
	got := map[string]Topics{}
	if err := s.ScanTopics(ctx, func(b []Topics) error {
		for _, x := range b {
			got[x.ID] = x
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []*Subscriber{chat, moved, old} {
		if x := got[want.ID]; x.Kind != want.Kind || x.ChatID != want.ChatID || x.Topics != want.Topics[0] {
			t.Errorf("ScanTopics: %s = %+v", want.ID, x)
		}
	}
}
