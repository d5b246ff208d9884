package numtab

import (
	"math/rand/v2"
	"testing"
)

// The table agrees with a map through inserts and deletes, including
// hashes that share the half a slot keeps (which only the caller tells
// apart) and runs that wrap around the end of the table.
func TestTableAgreesWithAMap(t *testing.T) {
	for _, narrow := range []bool{false, true} {
		r := rand.New(rand.NewPCG(1, 2))
		var tab Table
		want := map[uint32]uint64{} // number → hash
		hashOf := func() uint64 {
			if narrow { // few distinct fingerprints: long runs, many shared
				return uint64(r.IntN(4096))<<32 | r.Uint64()&0xffffffff
			}
			return r.Uint64()
		}
		next := uint32(0)
		for step := range 60000 {
			if r.IntN(3) > 0 || len(want) == 0 {
				h := hashOf()
				tab.Insert(h, next)
				want[next] = h
				next++
			} else {
				for v, h := range want { // any one
					tab.Delete(h, v)
					delete(want, v)
					break
				}
			}
			if step%5000 == 0 || step == 59999 {
				if tab.Len() != len(want) {
					t.Fatalf("narrow=%v step %d: Len %d, want %d", narrow, step, tab.Len(), len(want))
				}
				for v, h := range want {
					got, ok := tab.Find(h, func(c uint32) bool { return c == v })
					if !ok || got != v {
						t.Fatalf("narrow=%v step %d: Find(%x) for %d = %d, %v", narrow, step, h, v, got, ok)
					}
				}
				if _, ok := tab.Find(0xdead<<32, func(c uint32) bool { _, in := want[c]; return !in }); ok {
					t.Fatalf("narrow=%v: found a number that is not there", narrow)
				}
			}
		}
		// Deleting what is not there changes nothing.
		n := tab.Len()
		tab.Delete(hashOf(), next+1)
		if tab.Len() != n {
			t.Fatalf("narrow=%v: deleting an absent entry changed Len", narrow)
		}
		for v, h := range want {
			tab.Delete(h, v)
		}
		if tab.Len() != 0 || len(tab.slots) > 16 {
			t.Fatalf("narrow=%v: emptied table has Len %d and %d slots", narrow, tab.Len(), len(tab.slots))
		}
	}
}

func BenchmarkTableInsertFind(b *testing.B) {
	hs := randomHashes(1 << 22)
	for b.Loop() {
		var tab Table
		for i, h := range hs {
			if _, ok := tab.Find(h, nil); !ok {
				tab.Insert(h, uint32(i))
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(hs)), "ns/key")
}

func BenchmarkMapInsertFind(b *testing.B) {
	hs := randomHashes(1 << 22)
	for b.Loop() {
		m := map[uint64]uint32{}
		for i, h := range hs {
			if _, ok := m[h]; !ok {
				m[h] = uint32(i)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(hs)), "ns/key")
}

func randomHashes(n int) []uint64 {
	r := rand.New(rand.NewPCG(3, 4))
	hs := make([]uint64, n)
	for i := range hs {
		hs[i] = r.Uint64()
	}
	return hs
}
