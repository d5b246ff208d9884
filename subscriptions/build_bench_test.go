package subscriptions

import (
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"testing"
)

// BenchmarkBuild3M files 3M entries, as the matcher does at start-up with
// 1M subscribers of 3 topics each: 6-byte ids, topics parsed beforehand
// (the matcher parses in parallel workers) and filed in batches of 15,000
// (a SCAN batch of 5,000 subscribers). It reports the CPU time of filing
// alone, garbage collection included, and the heap the index holds per
// entry, the ids' bytes excluded (they belong to the caller). mix=news
// draws topics as BenchmarkMatch does (many shared), mix=scale as the
// scale test does (nearly all distinct).
//
//	go test ./subscriptions/ -run '^$' -bench Build3M -benchtime 1x -cpu 1
func BenchmarkBuild3M(b *testing.B) {
	const entries, batch = 3_000_000, 15_000
	bd := loadBench(b)
	for _, mix := range []string{"news", "scale"} {
		var texts []string
		if mix == "news" {
			texts = bd.queries(entries, 3)
		} else {
			texts = bd.scaleTopics(entries / 3)
		}
		cache := map[string]*Query{}
		qs := make([]*Query, len(texts))
		for i, s := range texts {
			q := cache[s]
			if q == nil {
				q = MustParse(s)
				cache[s] = q
			}
			qs[i] = q
		}
		texts, cache = nil, nil
		buf := make([]byte, entries*6)
		for i := range entries {
			binary.BigEndian.PutUint32(buf[i*6:], uint32(i/3))
			binary.BigEndian.PutUint16(buf[i*6+4:], uint16(i%3))
		}
		refs := string(buf)
		ids := make([]string, entries)
		for i := range ids {
			ids[i] = refs[i*6 : i*6+6]
		}
		buf = nil
		for _, mode := range []string{"add", "batch"} {
			b.Run("mix="+mix+"/"+mode, func(b *testing.B) {
				var cpu float64
				var heap int64
				distinct := 0
				for range b.N {
					runtime.GC()
					var before, after runtime.MemStats
					runtime.ReadMemStats(&before)
					cpu0 := cpuTime()
					ix := NewIndex(bd.freq)
					for j := 0; j < entries; j += batch {
						if mode == "add" {
							for k := j; k < j+batch; k++ {
								ix.Add(ids[k], qs[k])
							}
						} else {
							ix.AddBatch(ids[j:j+batch], qs[j:j+batch])
						}
					}
					cpu += (cpuTime() - cpu0).Seconds()
					runtime.GC()
					runtime.ReadMemStats(&after)
					heap += int64(after.HeapAlloc) - int64(before.HeapAlloc)
					distinct = ix.Distinct()
					if ix.Len() != entries {
						b.Fatalf("Len() = %d, want %d", ix.Len(), entries)
					}
					runtime.KeepAlive(ix)
				}
				b.ReportMetric(cpu/float64(b.N), "build-cpu-s")
				b.ReportMetric(float64(heap)/float64(b.N)/entries, "heap-B/entry")
				b.ReportMetric(float64(distinct), "distinct-queries")
			})
		}
	}
}

// scaleTopics returns the topics of n subscribers as the scale test of
// package faults seeds them: a word, two words and an OR of two words,
// drawn evenly from 20,000 words (here, words of the corpus), so that
// nearly every two-word topic is its own distinct query.
func (bd *benchData) scaleTopics(n int) []string {
	seen := map[string]bool{}
	var vocab []string
	for _, p := range bd.content {
		if w := bd.tokens[p]; !seen[w] && len(vocab) < 20_000 {
			seen[w] = true
			vocab = append(vocab, w)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	w := func() string { return vocab[r.IntN(len(vocab))] }
	out := make([]string, 0, 3*n)
	for range n {
		out = append(out, w(), w()+" "+w(), w()+" OR "+w())
	}
	return out
}
