package subscriptions

import (
	"slices"
	"strings"
	"testing"
)

// Packed ids keep every id, in order, whatever its length (varints of
// one byte and of two) and however many there are; taking one out keeps
// the others.
func TestPackedIDs(t *testing.T) {
	var want []string
	s := newIDs("belarus drones")
	for i := range 300 {
		id := strings.Repeat("x", i%200) + string(rune('a'+i%26))
		if i%7 == 0 {
			id = "" // empty ids survive too
		}
		want = append(want, id)
		s = packIDs(s, id)
	}
	s2 := packIDs(newIDs("belarus drones"), want...) // one at a time and all at once agree
	if s != s2 {
		t.Fatal("packing one at a time and all at once differ")
	}
	if s.Query() != "belarus drones" {
		t.Fatalf("query %q, want %q", s.Query(), "belarus drones")
	}
	if s.Len() != len(want) || !slices.Equal(slices.Collect(s.All()), want) {
		t.Fatalf("Len %d, All gives %d ids; want %d", s.Len(), len(slices.Collect(s.All())), len(want))
	}
	for _, k := range []int{0, 1, 150, 299} {
		out, ok := withoutID(s, want[k])
		if !ok {
			t.Fatalf("withoutID(%d) did not find it", k)
		}
		rest := slices.Delete(slices.Clone(want), k, k+1)
		if out.Len() != len(rest) || !slices.Equal(slices.Collect(out.All()), rest) || out.Query() != s.Query() {
			t.Fatalf("without id %d: %d ids, want %d", k, out.Len(), len(rest))
		}
		if !s.Contains(want[k]) || (want[k] != "" && out.Contains(want[k]) && slices.Index(rest, want[k]) < 0) {
			t.Fatalf("Contains wrong for id %d", k)
		}
	}
	if _, ok := withoutID(s, "not there"); ok {
		t.Fatal("withoutID found an id that is not there")
	}
	one := packIDs(newIDs("minsk"), "only")
	if out, ok := withoutID(one, "only"); !ok || out.Len() != 0 || out.Query() != "minsk" || len(slices.Collect(out.All())) != 0 {
		t.Fatalf("taking the last id out left %+v", out)
	}
	if (IDs{}).Len() != 0 || len(slices.Collect(IDs{}.All())) != 0 {
		t.Fatal("no ids are not empty")
	}
}
