package subscriptions

import (
	"slices"
	"strings"
	"sync"

	"github.com/kljensen/snowball/english"
)

// Index matches articles against many stored queries at once. Instead of
// checking every query on every article, it files each distinct query
// under the terms that must occur for it to match (for an AND, its rarest
// term; for an OR, a term of each branch) and, for an article, looks up
// only the queries filed under the article's own words; only those
// candidates are evaluated in full.
//
// Each distinct normalised query is stored once, compiled to a few
// integers, with the ids that follow it, so a million subscriptions that
// share popular topics cost little memory.
//
// Index is safe for concurrent use: Match runs under a read lock and may
// run in parallel; Add and Remove take the write lock.
type Index struct {
	mu   sync.RWMutex
	freq *Frequencies

	// dict interns every key a compiled query refers to; the ids of all
	// kinds share one space so per-article state is one array per use.
	dict       [numKeyKinds]map[string]uint32
	nkeys      uint32
	prefixLens []int // distinct byte lengths of prefix keys, ascending

	// byWord and byStem map vocab numbers to key id+1 (0: no key), so
	// that an article's words are found without hashing strings.
	byWord, byStem []uint32

	// postings[key*2+field] lists the entries filed under that key in the
	// whole article (field 0) or in its title (field 1).
	postings [][]posting

	entries []entry
	free    []uint32          // unused entry numbers, for reuse
	byQuery map[string]uint32 // normalised query → entry number
	byID    map[string]uint32 // subscription id → entry number

	pool sync.Pool // *scratch
}

// posting is one entry filed under a key. check says what else decides
// the match when the key occurs, so that most candidates are settled from
// the posting alone, without touching the entry:
//
//   - checkExact: the key is the whole query: a match.
//   - checkOnce: a match, unless already reached through another key
//     (an OR of plain terms).
//   - checkEval: evaluate the query (once).
//   - otherwise a second posting key (key*2+field) that the query needs:
//     if it is absent, no match; if present, then with checkDecides the
//     match is certain (two-term ANDs), or else the query is evaluated.
//     With checkAbsent the second key must be absent instead ("a -b").
type posting struct {
	entry, check uint32
}

const (
	checkExact   = ^uint32(0)
	checkOnce    = ^uint32(0) - 1
	checkEval    = ^uint32(0) - 2
	checkDecides = 1 << 31
	checkAbsent  = 1 << 30
	checkKeyMask = checkAbsent - 1
)

// keyKind says what an interned key is; each kind has its own dictionary.
type keyKind uint8

const (
	keyStem   keyKind = iota // stem of a bare word
	keyWord                  // exact folded word, for phrases
	keyPrefix                // prefix of a word
	keyHost                  // host or parent domain, for site:
	numKeyKinds
)

// entry is one distinct query. prog[0] is the length n of its compiled
// code, prog[1:1+n] the code and prog[1+n:] the posting keys it is filed
// under (kept so that Remove can unfile it).
type entry struct {
	query string
	prog  []uint32
	ids   []string
}

// Instructions of compiled queries: an opcode in the top 4 bits and an
// argument (a key id or a count) in the rest, run on a stack of booleans.
const (
	opShift  = 28
	argMask  = 1<<opShift - 1
	insAny   = 1 << opShift // key present anywhere
	insTitle = 2 << opShift // key present in the title
	insPhr   = 3 << opShift // phrase of arg words anywhere; the word ids follow
	insPhrT  = 4 << opShift // phrase of arg words in the title
	insAnd   = 5 << opShift // pop arg values, push their AND
	insOr    = 6 << opShift // pop arg values, push their OR
	insNot   = 7 << opShift // negate the top value
)

// Frequencies counts in how many articles each word stem occurs. An Index
// given one files an AND query under its rarest term by these counts;
// build it from a sample of recent articles.
type Frequencies struct {
	docs int
	df   map[string]int32
}

// NewFrequencies returns empty counts.
func NewFrequencies() *Frequencies { return &Frequencies{df: make(map[string]int32)} }

// Add counts the distinct stems of one article.
func (f *Frequencies) Add(d *Doc) {
	f.docs++
	seen := make(map[string]bool, len(d.stems))
	for _, s := range d.stems {
		if !seen[s] {
			seen[s] = true
			f.df[strings.Clone(s)]++
		}
	}
}

// Docs returns how many articles were counted.
func (f *Frequencies) Docs() int { return f.docs }

// share estimates the fraction of articles that contain a stem.
func (f *Frequencies) share(stem string) float64 {
	if f == nil || f.docs == 0 {
		// No counts: stop words are everywhere, and longer words tend
		// to be rarer.
		if english.IsStopWord(stem) {
			return 0.9
		}
		return 0.3 / float64(len(stem)+1)
	}
	return (float64(f.df[stem]) + 0.5) / float64(f.docs+1)
}

// NewIndex returns an empty index. freq, if not nil, tells it which terms
// are rare; it must not change afterwards.
func NewIndex(freq *Frequencies) *Index {
	ix := &Index{
		freq:    freq,
		byQuery: make(map[string]uint32),
		byID:    make(map[string]uint32),
	}
	for k := range ix.dict {
		ix.dict[k] = make(map[string]uint32)
	}
	return ix
}

// Len returns the number of subscriptions (ids) in the index.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.byID)
}

// Distinct returns the number of distinct queries in the index.
func (ix *Index) Distinct() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.byQuery)
}

// Add files subscription id under query q, replacing what id followed
// before.
func (ix *Index) Add(id string, q *Query) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if e, ok := ix.byID[id]; ok {
		if ix.entries[e].query == q.root.str {
			return
		}
		ix.remove(id, e)
	}
	e, ok := ix.byQuery[q.root.str]
	if !ok {
		e = ix.newEntry(q)
	}
	ent := &ix.entries[e]
	ent.ids = append(ent.ids, id)
	ix.byID[id] = e
}

// Remove drops subscription id; it reports whether id was there.
func (ix *Index) Remove(id string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	e, ok := ix.byID[id]
	if ok {
		ix.remove(id, e)
	}
	return ok
}

func (ix *Index) remove(id string, e uint32) {
	delete(ix.byID, id)
	ent := &ix.entries[e]
	if i := slices.Index(ent.ids, id); i >= 0 {
		last := len(ent.ids) - 1
		ent.ids[i] = ent.ids[last]
		ent.ids[last] = ""
		ent.ids = ent.ids[:last]
	}
	if len(ent.ids) > 0 {
		return
	}
	for _, key := range ent.prog[1+ent.prog[0]:] {
		list := ix.postings[key]
		if i := slices.IndexFunc(list, func(p posting) bool { return p.entry == e }); i >= 0 {
			list[i] = list[len(list)-1]
			ix.postings[key] = list[:len(list)-1]
		}
	}
	delete(ix.byQuery, ent.query)
	*ent = entry{}
	ix.free = append(ix.free, e)
}

// newEntry compiles q, files it under its selecting keys and returns its
// entry number.
func (ix *Index) newEntry(q *Query) uint32 {
	code := ix.compile(q.root, nil)
	keys, check := ix.filing(q.root)
	prog := make([]uint32, 0, 1+len(code)+len(keys))
	prog = append(prog, uint32(len(code)))
	prog = append(prog, code...)
	prog = append(prog, keys...)

	var e uint32
	if n := len(ix.free); n > 0 {
		e = ix.free[n-1]
		ix.free = ix.free[:n-1]
	} else {
		e = uint32(len(ix.entries))
		ix.entries = append(ix.entries, entry{})
	}
	ix.entries[e] = entry{query: q.root.str, prog: prog}
	ix.byQuery[q.root.str] = e
	for _, key := range keys {
		ix.postings[key] = append(ix.postings[key], posting{e, check})
	}
	return e
}

// filing returns the posting keys of a query and the check of its
// postings (see posting).
func (ix *Index) filing(root *node) (keys []uint32, check uint32) {
	keys, _ = ix.selectors(root, nil)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	switch root.op {
	case opTerm:
		if simpleTerm(root) {
			return keys, checkExact
		}
		// A phrase, filed under its rarest word: check a second word.
		best := ix.secondWord(root, keys[0])
		if best != checkEval {
			return keys, best
		}
		return keys, checkEval
	case opOr:
		if !slices.ContainsFunc(root.kids, func(k *node) bool { return !simpleTerm(k) }) {
			return keys, checkOnce
		}
		return keys, checkEval
	}
	// An AND: check its rarest single-key conjunct beside the one filed
	// under. If those two are all there is, that check decides.
	check, best := uint32(checkEval), 2.0
	var pick *node
	for _, k := range root.kids {
		if k.op != opTerm {
			continue
		}
		ks, c := ix.selectors(k, nil)
		if len(ks) == 1 && !slices.Contains(keys, ks[0]) && c < best {
			check, best, pick = ks[0], c, k
		}
	}
	if len(root.kids) == 2 && len(keys) == 1 {
		other := root.kids[0]
		if slices.Contains(ix.keysOf(other), keys[0]) {
			other = root.kids[1]
		}
		switch {
		case other == pick && simpleTerm(other) && simpleTerm(root.kids[0]) && simpleTerm(root.kids[1]):
			return keys, check | checkDecides
		case other.op == opNot && other.kids[0].op == opTerm && simpleTerm(other.kids[0]) && root.kids[0].op == opTerm && simpleTerm(root.kids[0]):
			ks, _ := ix.selectors(other.kids[0], nil)
			return keys, ks[0] | checkDecides | checkAbsent
		}
	}
	return keys, check
}

// keysOf returns the posting keys of one node.
func (ix *Index) keysOf(n *node) []uint32 {
	if n.op == opNot {
		return nil
	}
	ks, _ := ix.selectors(n, nil)
	return ks
}

// simpleTerm reports a term whose presence is one key: a word, a prefix,
// a site or a one-word phrase.
func simpleTerm(n *node) bool {
	return n.op == opTerm && (n.kind != termPhrase || len(n.words) == 1)
}

// secondWord returns the posting key of a phrase word other than the one
// filed under, the rarest such, or checkEval if there is none.
func (ix *Index) secondWord(n *node, filed uint32) uint32 {
	field := uint32(0)
	if n.title {
		field = 1
	}
	check, best := uint32(checkEval), 2.0
	for _, w := range n.words {
		k := ix.dict[keyWord][w]*2 + field
		if c := ix.freq.share(stem(w)); k != filed && c < best {
			check, best = k, c
		}
	}
	return check
}

// key interns a key and returns its id.
func (ix *Index) key(kind keyKind, s string) uint32 {
	if id, ok := ix.dict[kind][s]; ok {
		return id
	}
	id := ix.nkeys
	ix.nkeys++
	ix.dict[kind][strings.Clone(s)] = id
	ix.postings = append(ix.postings, nil, nil)
	switch kind {
	case keyWord:
		ix.byWord = setNumbered(ix.byWord, lookupWord(s).word, id)
	case keyStem:
		ix.byStem = setNumbered(ix.byStem, stemNumber(s), id)
	}
	if kind == keyPrefix {
		if i, found := slices.BinarySearch(ix.prefixLens, len(s)); !found {
			ix.prefixLens = slices.Insert(ix.prefixLens, i, len(s))
		}
	}
	return id
}

// setNumbered records key id under vocab number n, if it has one.
func setNumbered(tab []uint32, n, id uint32) []uint32 {
	if n == 0 {
		return tab
	}
	if int(n) >= len(tab) {
		tab = append(tab, make([]uint32, int(n)+1-len(tab))...)
	}
	tab[n] = id + 1
	return tab
}

// numbered returns the key id that tab holds for vocab number n, or
// looks the string up in dict when n is 0 (vocab was full).
func numbered(tab []uint32, n uint32, dict map[string]uint32, s string) (uint32, bool) {
	if n != 0 {
		if int(n) < len(tab) && tab[n] != 0 {
			return tab[n] - 1, true
		}
		return 0, false
	}
	id, ok := dict[s]
	return id, ok
}

// compile appends the postfix code of n to code.
func (ix *Index) compile(n *node, code []uint32) []uint32 {
	switch n.op {
	case opAnd, opOr:
		for _, k := range n.kids {
			code = ix.compile(k, code)
		}
		op := uint32(insAnd)
		if n.op == opOr {
			op = insOr
		}
		return append(code, op|uint32(len(n.kids)))
	case opNot:
		return append(ix.compile(n.kids[0], code), insNot)
	}
	field := uint32(insAny)
	if n.title {
		field = insTitle
	}
	switch n.kind {
	case termWord:
		return append(code, field|ix.key(keyStem, n.stem))
	case termPrefix:
		return append(code, field|ix.key(keyPrefix, n.words[0]))
	case termSite:
		return append(code, insAny|ix.key(keyHost, n.words[0]))
	}
	op := uint32(insPhr)
	if n.title {
		op = insPhrT
	}
	code = append(code, op|uint32(len(n.words)))
	for _, w := range n.words {
		code = append(code, ix.key(keyWord, w))
	}
	return code
}

// selectors returns the posting keys under which n must be filed so that
// any article it matches finds it, with an estimate of how often they
// occur. Keys were interned by compile.
func (ix *Index) selectors(n *node, keys []uint32) ([]uint32, float64) {
	switch n.op {
	case opAnd:
		// Every positive conjunct must occur: the rarest one suffices.
		var best []uint32
		bestCost := 2.0
		for _, k := range n.kids {
			if k.op == opNot {
				continue
			}
			ks, c := ix.selectors(k, nil)
			if best == nil || c < bestCost {
				best, bestCost = ks, c
			}
		}
		return append(keys, best...), bestCost
	case opOr:
		total := 0.0
		for _, k := range n.kids {
			var c float64
			keys, c = ix.selectors(k, keys)
			total += c
		}
		return keys, total
	}
	field := uint32(0)
	scale := 1.0
	if n.title {
		field, scale = 1, 0.1 // titles are short: far fewer articles have the word there
	}
	switch n.kind {
	case termWord:
		return append(keys, ix.dict[keyStem][n.stem]*2+field), scale * ix.freq.share(n.stem)
	case termPrefix:
		return append(keys, ix.dict[keyPrefix][n.words[0]]*2+field), scale * 0.5 / float64(len(n.words[0]))
	case termSite:
		return append(keys, ix.dict[keyHost][n.words[0]]*2), 0.05
	}
	// A phrase: file it under its rarest word.
	bw, bc := n.words[0], 2.0
	for _, w := range n.words {
		if c := ix.freq.share(stem(w)); c < bc {
			bw, bc = w, c
		}
	}
	return append(keys, ix.dict[keyWord][bw]*2+field), scale * bc * 0.5
}

// scratch is the per-article state of one Match call, reused through a
// pool. Arrays indexed by key or entry hold a generation number instead of
// a flag so that nothing needs clearing between articles.
type scratch struct {
	gen      uint32
	anyGen   []uint32 // anyGen[key] == gen: key occurs in the article
	titleGen []uint32 // titleGen[key] == gen: key occurs in the title
	first    []int32  // first[word key]: its first position
	candGen  []uint32 // candGen[entry] == gen: entry already checked
	next     []int32  // next[pos]: the next position of the same word, or -1
	wordKey  []int32  // wordKey[uniq word]: its word key, or -1
	keys     []uint32 // posting keys present in this article
	stack    []bool
}

// prepare sizes s for the index and starts a new generation.
func (s *scratch) prepare(nkeys, nentries int) {
	if len(s.anyGen) < nkeys {
		n := nkeys + nkeys/4
		s.anyGen = append(s.anyGen, make([]uint32, n-len(s.anyGen))...)
		s.titleGen = append(s.titleGen, make([]uint32, n-len(s.titleGen))...)
		s.first = append(s.first, make([]int32, n-len(s.first))...)
	}
	if len(s.candGen) < nentries {
		s.candGen = append(s.candGen, make([]uint32, nentries+nentries/4-len(s.candGen))...)
	}
	s.gen++
	if s.gen == 0 { // wrapped: old marks could look current
		clear(s.anyGen)
		clear(s.titleGen)
		clear(s.candGen)
		s.gen = 1
	}
	s.keys = s.keys[:0]
}

func (s *scratch) markAny(id uint32) {
	if s.anyGen[id] != s.gen {
		s.anyGen[id] = s.gen
		s.keys = append(s.keys, id*2)
	}
}

func (s *scratch) markTitle(id uint32) {
	if s.titleGen[id] != s.gen {
		s.titleGen[id] = s.gen
		s.keys = append(s.keys, id*2+1)
	}
}

// present reports whether posting key k (key*2+field) occurs.
func (s *scratch) present(k uint32) bool {
	if k&1 == 0 {
		return s.anyGen[k>>1] == s.gen
	}
	return s.titleGen[k>>1] == s.gen
}

// Match returns the ids of the subscriptions whose query matches d, in no
// particular order.
func (ix *Index) Match(d *Doc) []string {
	var ids []string
	ix.MatchQueries(d, func(_ string, qids []string) bool {
		ids = append(ids, qids...)
		return true
	})
	return ids
}

// MatchFunc calls fn with each subscription id whose query matches d, and
// that query's normalised form, until fn returns false. fn runs under the
// index's read lock: it must not call Add or Remove.
func (ix *Index) MatchFunc(d *Doc, fn func(id, query string) bool) {
	ix.MatchQueries(d, func(query string, ids []string) bool {
		for _, id := range ids {
			if !fn(id, query) {
				return false
			}
		}
		return true
	})
}

// MatchQueries calls fn once for each distinct query that matches d, with
// the ids that follow it, until fn returns false. It is the cheapest form
// when a popular topic matches: the ids are handed over as they are
// stored. fn runs under the index's read lock: it must not call Add or
// Remove, nor keep or change ids after it returns.
func (ix *Index) MatchQueries(d *Doc, fn func(query string, ids []string) bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	s, _ := ix.pool.Get().(*scratch)
	if s == nil {
		s = new(scratch)
	}
	defer ix.pool.Put(s)
	s.prepare(int(ix.nkeys), len(ix.entries))
	ix.lookup(d, s)
	for _, key := range s.keys {
		for _, p := range ix.postings[key] {
			eval := false
			switch c := p.check; c {
			case checkExact:
			case checkOnce, checkEval:
				if s.candGen[p.entry] == s.gen {
					continue // reached through another key already
				}
				s.candGen[p.entry] = s.gen
				eval = c == checkEval
			default:
				if s.present(c&checkKeyMask) == (c&checkAbsent != 0) {
					continue
				}
				if c&checkDecides == 0 {
					if s.candGen[p.entry] == s.gen {
						continue
					}
					s.candGen[p.entry] = s.gen
					eval = true
				}
			}
			ent := &ix.entries[p.entry]
			if eval && !s.eval(d, ent.prog[1:1+ent.prog[0]]) {
				continue
			}
			if !fn(ent.query, ent.ids) {
				return
			}
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
			st = append(st, s.anyGen[arg] == s.gen)
		case insTitle:
			st = append(st, s.titleGen[arg] == s.gen)
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
		if s.anyGen[w] != s.gen {
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
