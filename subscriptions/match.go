package subscriptions

import (
	"slices"
	"strings"
)

// scratch is the per-article state of one Match call, reused through a
// pool. Its sets are bitsets, small enough to stay in the nearest cache
// (a million queries have some 20,000 keys and 330,000 entries), and
// cleared after each article through the lists of what was set.
type scratch struct {
	has     []uint64 // bit k: posting key k (key*2+field) occurs
	keys    []uint32 // posting keys present in this article
	seen    []uint64 // bit e: entry e already reached through another key
	seenIDs []uint32 // the entries set in seen
	first   []int32  // first[word key]: its first position
	next    []int32  // next[pos]: the next position of the same word, or -1
	wordKey []int32  // wordKey[uniq word]: its word key, or -1
	stack   []bool
	hits    []int32  // conditional postings of one list that match
	touch   int      // sum of what was read ahead, so the reads are kept
	lkeys   []uint32 // the article's posting keys that have a list
	evals   []uint64 // candidates to evaluate: list<<32 | posting
}

// prepare sizes s for the index and clears what the last article set.
func (s *scratch) prepare(nkeys, nentries int) {
	for _, k := range s.keys {
		s.has[k>>6] = 0
	}
	for _, e := range s.seenIDs {
		s.seen[e>>6] = 0
	}
	s.keys, s.seenIDs = s.keys[:0], s.seenIDs[:0]
	if n := (2*nkeys + 63) / 64; len(s.has) < n {
		s.has = append(s.has, make([]uint64, n+n/4-len(s.has))...)
	}
	if len(s.first) < nkeys {
		s.first = append(s.first, make([]int32, nkeys+nkeys/4-len(s.first))...)
	}
	if n := (nentries + 63) / 64; len(s.seen) < n {
		s.seen = append(s.seen, make([]uint64, n+n/4-len(s.seen))...)
	}
}

// mark records that posting key k occurs.
func (s *scratch) mark(k uint32) {
	if w, b := &s.has[k>>6], uint64(1)<<(k&63); *w&b == 0 {
		*w |= b
		s.keys = append(s.keys, k)
	}
}

func (s *scratch) markAny(id uint32)   { s.mark(id * 2) }
func (s *scratch) markTitle(id uint32) { s.mark(id*2 + 1) }

// present reports whether posting key k (key*2+field) occurs.
func (s *scratch) present(k uint32) bool {
	return s.has[k>>6]&(1<<(k&63)) != 0
}

// firstVisit reports whether entry e is reached for the first time in
// this article, and records it.
func (s *scratch) firstVisit(e uint32) bool {
	w, b := &s.seen[e>>6], uint64(1)<<(e&63)
	if *w&b != 0 {
		return false
	}
	*w |= b
	s.seenIDs = append(s.seenIDs, e)
	return true
}

// Match returns the ids of the subscriptions whose query matches d, in no
// particular order.
func (ix *Index) Match(d *Doc) []string {
	var ids []string
	ix.MatchQueries(d, func(qids IDs) bool {
		for id := range qids.All() {
			ids = append(ids, id)
		}
		return true
	})
	return ids
}

// Count returns the number of subscription ids whose query matches d.
func (ix *Index) Count(d *Doc) int {
	n := 0
	ix.MatchQueries(d, func(ids IDs) bool {
		n += ids.Len()
		return true
	})
	return n
}

// MatchFunc calls fn with each subscription id whose query matches d, and
// that query's normalised form, until fn returns false. fn runs under the
// index's read lock: it must not call Add or Remove.
func (ix *Index) MatchFunc(d *Doc, fn func(id, query string) bool) {
	ix.MatchQueries(d, func(ids IDs) bool {
		query := ids.Query()
		for id := range ids.All() {
			if !fn(id, query) {
				return false
			}
		}
		return true
	})
}

// MatchQueries calls fn once for each distinct query that matches d, with
// the ids that follow it (and its text: IDs.Query), until fn returns
// false. It is the cheapest form when a popular topic matches: the ids
// are handed over as they are stored. fn runs under the index's read
// lock: it must not call Add or Remove.
func (ix *Index) MatchQueries(d *Doc, fn func(IDs) bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	s, _ := ix.pool.Get().(*scratch)
	if s == nil {
		s = new(scratch)
	}
	defer ix.pool.Put(s)
	s.prepare(int(ix.nkeys), len(ix.entries))
	ix.lookup(d, s)
	// At a million queries the index is far bigger than the processor's
	// nearer caches, and each posting list is somewhere else in memory.
	// Look the lists up, then read the start of each, in passes of loads
	// that do not depend on one another, so that their cache misses
	// overlap rather than come one at a time.
	// (Keys, not pointers, are kept: a pointer stored while a collection
	// runs costs a write barrier.)
	s.lkeys, s.evals = s.lkeys[:0], s.evals[:0]
	for _, key := range s.keys {
		if ix.lists[key] != nil {
			s.lkeys = append(s.lkeys, key)
		}
	}
	t := 0
	for _, key := range s.lkeys {
		l := ix.lists[key]
		if len(l.exact) > 0 {
			t += int(l.exact[0].ids.n)
		}
		if len(l.cond) > 0 {
			t += int(l.cond[0]) + int(l.condReps[0].ids.n)
		}
		if len(l.other) > 0 {
			t += int(l.other[0].check)
		}
	}
	s.touch = t
	for li, key := range s.lkeys {
		l := ix.lists[key]
		for i := range l.exact {
			if r := &l.exact[i]; !fn(r.ids) {
				return
			}
		}
		// Gather the conditional postings whose second key says yes
		// without a branch per posting: which way it goes is a coin toss
		// the processor would often lose.
		hits := slices.Grow(s.hits[:0], len(l.cond))[:len(l.cond)]
		n := 0
		for i, c := range l.cond {
			k := c & checkKeyMask
			hits[n] = int32(i)
			n += int(uint32(s.has[k>>6]>>(k&63))&1 ^ c>>absentShift&1)
		}
		s.hits = hits
		for _, i := range hits[:n] {
			if r := &l.condReps[i]; !fn(r.ids) {
				return
			}
		}
		reps := l.otherReps
		for i, p := range l.other {
			eval := false
			switch c := p.check; c {
			case checkExact:
			case checkEvalOne:
				eval = true
			case checkOnce, checkEval:
				if !s.firstVisit(p.entry) {
					continue // reached through another key already
				}
				eval = c == checkEval
			default:
				second := c & checkKeyMask
				if s.present(second) == (c&checkAbsent != 0) {
					continue
				}
				switch {
				case c&checkPhrase != 0:
					if !s.phrase(d, []uint32{key >> 1, second >> 1}, key&1 != 0) {
						continue
					}
				case c&checkPhraseRev != 0:
					if !s.phrase(d, []uint32{second >> 1, key >> 1}, key&1 != 0) {
						continue
					}
				case c&checkDecides != 0:
				case c&checkShared != 0 && !s.firstVisit(p.entry):
					continue
				default:
					eval = true
				}
			}
			if eval {
				// Evaluate after the last list, when the entries of all
				// such candidates can be read in one pass.
				s.evals = append(s.evals, uint64(li)<<32|uint64(i))
				continue
			}
			if r := &reps[i]; !fn(r.ids) {
				return
			}
		}
	}
	// Each candidate's compiled query is two cache misses away (its entry,
	// then its code): take them for all candidates at once, then evaluate.
	t = 0
	for _, ev := range s.evals {
		p := ix.lists[s.lkeys[ev>>32]].other[uint32(ev)]
		t += int(ix.prog(p.entry)[0])
	}
	s.touch += t
	for _, ev := range s.evals {
		l := ix.lists[s.lkeys[ev>>32]]
		i := uint32(ev)
		prog := ix.prog(l.other[i].entry)
		if !s.eval(d, prog[1:1+prog[0]]) {
			continue
		}
		if r := &l.otherReps[i]; !fn(r.ids) {
			return
		}
	}
}

// lookup marks the keys of d present in s and chains word positions for
// phrase checks.
func (ix *Index) lookup(d *Doc, s *scratch) {
	words, stems, prefixes := ix.dict[keyWord], ix.dict[keyStem], ix.dict[keyPrefix]
	s.wordKey = slices.Grow(s.wordKey[:0], len(d.uniq))[:len(d.uniq)]
	for j, w := range d.uniq {
		s.wordKey[j] = -1
		if id, ok := numbered(ix.byWord, d.wordIDs[j], words, w); ok {
			s.wordKey[j] = int32(id)
			s.markAny(id)
			s.first[id] = -1
		}
		if id, ok := numbered(ix.byStem, d.stemIDs[j], stems, d.stems[j]); ok {
			s.markAny(id)
		}
		for _, l := range ix.prefixLens {
			if l > len(w) {
				break
			}
			if id, ok := prefixes[w[:l]]; ok {
				s.markAny(id)
			}
		}
	}
	for p := 0; p < d.titleLen; p++ {
		j := d.at[p]
		w := d.uniq[j]
		if id := s.wordKey[j]; id >= 0 {
			s.markTitle(uint32(id))
		}
		if id, ok := numbered(ix.byStem, d.stemIDs[j], stems, d.stems[j]); ok {
			s.markTitle(id)
		}
		for _, l := range ix.prefixLens {
			if l > len(w) {
				break
			}
			if id, ok := prefixes[w[:l]]; ok {
				s.markTitle(id)
			}
		}
	}
	// Chain positions backwards so that first[] ends at the earliest.
	s.next = slices.Grow(s.next[:0], len(d.at))[:len(d.at)]
	for p := len(d.at) - 1; p >= 0; p-- {
		s.next[p] = -1
		if id := s.wordKey[d.at[p]]; id >= 0 {
			s.next[p] = s.first[id]
			s.first[id] = int32(p)
		}
	}
	if d.lang != "" {
		if id, ok := ix.dict[keyLang][d.lang]; ok {
			s.markAny(id)
		}
	}
	if h := d.host; h != "" {
		hosts := ix.dict[keyHost]
		for {
			if id, ok := hosts[h]; ok {
				s.markAny(id)
			}
			i := strings.IndexByte(h, '.')
			if i < 0 {
				break
			}
			h = h[i+1:]
		}
	}
}

// eval runs compiled code against the article marked in s.
func (s *scratch) eval(d *Doc, code []uint32) bool {
	st := s.stack[:0]
	for i := 0; i < len(code); i++ {
		ins := code[i]
		arg := ins & argMask
		switch ins &^ argMask {
		case insAny:
			st = append(st, s.present(arg*2))
		case insTitle:
			st = append(st, s.present(arg*2+1))
		case insPhr, insPhrT:
			words := code[i+1 : i+1+int(arg)]
			i += int(arg)
			st = append(st, s.phrase(d, words, ins&^argMask == insPhrT))
		case insAnd, insOr:
			n := len(st) - int(arg)
			v := ins&^argMask == insAnd
			for _, b := range st[n:] {
				if b != v {
					v = !v
					break
				}
			}
			st = append(st[:n], v)
		case insNot:
			st[len(st)-1] = !st[len(st)-1]
		}
	}
	s.stack = st
	return st[0]
}

// phrase reports whether the word keys occur at consecutive positions,
// with the same title rules as phraseAt.
func (s *scratch) phrase(d *Doc, words []uint32, title bool) bool {
	for _, w := range words {
		if !s.present(w * 2) {
			return false
		}
	}
	n := len(words)
	for p := int(s.first[words[0]]); p >= 0; p = int(s.next[p]) {
		end := p + n
		if end > len(d.at) || (title && p >= d.titleLen) {
			return false // positions only grow from here
		}
		if p < d.titleLen && end > d.titleLen {
			continue
		}
		k := 1
		for k < n && s.wordKey[d.at[p+k]] == int32(words[k]) {
			k++
		}
		if k == n {
			return true
		}
	}
	return false
}
