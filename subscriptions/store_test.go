package subscriptions

import (
	"context"
	"errors"
	"reflect"
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
	st.Redis.RPush(ctx, st.Key("sub", "{mail:1}", "digest"), `{"a":"x"}`)
	st.Redis.Set(ctx, st.Key("sub", "{mail:1}", "got", "story"), "1", 0)
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
