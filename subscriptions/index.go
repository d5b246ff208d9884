package subscriptions

import (
	"hash/maphash"
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
// share popular topics cost little memory. Beside each posting list, a
// list of reports holds the query text and ids of each posting, so that
// reporting a match reads memory in order instead of jumping to the
// entry: at a million queries an article matches thousands of them, and a
// cache miss each was most of the time of Match.
//
// Index is safe for concurrent use: Match runs under a read lock and may
// run in parallel; Add, AddBatch and Remove take the write lock. To load
// many subscriptions, AddBatch files a batch under one lock.
type Index struct {
	mu   sync.RWMutex
	freq *Frequencies

	// dict interns every key a compiled query refers to; the ids of all
	// kinds share one space so per-article state is one array per use.
	dict  [numKeyKinds]map[string]uint32
	nkeys uint32
	// shares[id] is how often a stem or word key occurs (Frequencies),
	// worked out once when it is interned: filing a query asks it of
	// each of its terms.
	shares     []float64
	prefixLens []int // distinct byte lengths of prefix keys, ascending

	// byWord and byStem map vocab numbers to key id+1 (0: no key), so
	// that an article's words are found without hashing strings.
	byWord, byStem []uint32

	// lists[key*2+field] lists the entries filed under that key in the
	// whole article (field 0) or in its title (field 1); nil when there
	// are none, as for most title fields and phrase words.
	lists []*postingList

	entries []entry
	free    []uint32 // unused entry numbers, for reuse
	// queries finds the entry of each normalised query, and ids the entry
	// each subscription id follows, by hash (see hashedKeys); the query
	// and the ids themselves are in the entry's reports, where
	// lookupQuery and lookupID confirm them. Nearly every entry of a
	// million subscribers may be a distinct query, and they make
	// millions of ids: a map of strings was most of the time of loading
	// them.
	queries, ids hashedKeys
	seed         maphash.Seed
	weak         func(string) uint64 // if set, hashes ids and queries instead: tests make them clash

	pending []uint64                              // AddBatch's buffer
	batchQs map[*Query]uint32                     // AddBatch: the entry of each query of the batch
	buf     struct{ code, keys, checks []uint32 } // newEntry's buffers

	pool sync.Pool // *scratch
}

// posting is one entry filed under a key. check says what else decides
// the match when the key occurs, so that most candidates are settled from
// the posting alone, without touching the entry:
//
//   - checkExact: the key is the whole query: a match.
//   - checkOnce: a match, unless already reached through another key
//     (an OR of three or more plain terms).
//   - checkEval: evaluate the query, once if it is filed under several
//     keys (checkEvalOne: filed under this key alone).
//   - otherwise a second posting key (key*2+field) that the query needs:
//     if it is absent, no match; if present, then with checkDecides the
//     match is certain (two-term ANDs), with checkPhrase or
//     checkPhraseRev the two words must also be next to each other (a
//     two-word phrase: this posting's word first, or the second key's
//     word first), and otherwise the query is evaluated (once if
//     checkShared). With checkAbsent the second key must be absent
//     instead ("a -b", and the second posting of "a OR b", which leaves
//     the article to the first when both occur).
type posting struct {
	entry, check uint32
}

// postingList is the entries filed under one posting key, apart by how
// their match is settled so that Match runs a tight loop over each part:
//
//   - exact: checkExact, matches whenever the key occurs: only reports.
//   - cond: a second key decides (checkDecides, maybe checkAbsent, no
//     phrase): the checks alone, with condReps beside them.
//   - other: everything else, postings with otherReps beside them.
//
// Checks and reports are apart so that the candidates that do not match,
// which are many, cost 4 or 8 bytes of memory to read, not 48.
type postingList struct {
	exact     []report
	cond      []uint32
	condReps  []report
	other     []posting
	otherReps []report
}

// Parts of a postingList; an entry's place in a list is part<<placeShift
// | index.
const (
	partExact  = 0
	partCond   = 1
	partOther  = 2
	placeShift = 30
	placeMask  = 1<<placeShift - 1
)

// partOf returns the part of a postingList that a posting with check c
// goes in.
func partOf(c uint32) uint32 {
	switch {
	case c == checkExact:
		return partExact
	case c < checkEvalOne && c&checkDecides != 0 && c&(checkPhrase|checkPhraseRev) == 0:
		return partCond
	}
	return partOther
}

// add appends a posting and returns its place.
func (l *postingList) add(p posting, r report) uint32 {
	switch part := partOf(p.check); part {
	case partExact:
		l.exact = append(l.exact, r)
		return uint32(len(l.exact) - 1)
	case partCond:
		l.cond = append(l.cond, p.check)
		l.condReps = append(l.condReps, r)
		return partCond<<placeShift | uint32(len(l.cond)-1)
	}
	l.other = append(l.other, p)
	l.otherReps = append(l.otherReps, r)
	return partOther<<placeShift | uint32(len(l.other)-1)
}

func (l *postingList) empty() bool {
	return len(l.exact) == 0 && len(l.cond) == 0 && len(l.other) == 0
}

// report returns the report at a place.
func (l *postingList) report(at uint32) *report {
	i := at & placeMask
	switch at >> placeShift {
	case partExact:
		return &l.exact[i]
	case partCond:
		return &l.condReps[i]
	}
	return &l.otherReps[i]
}

// remove drops the posting at a place by moving the last of its part
// there; it returns the report of the moved posting, or nil if none moved.
func (l *postingList) remove(at uint32) *report {
	i := int(at & placeMask)
	var reps []report
	switch at >> placeShift {
	case partExact:
		reps = l.exact
		l.exact = l.exact[:len(l.exact)-1]
	case partCond:
		reps = l.condReps
		last := len(l.cond) - 1
		l.cond[i] = l.cond[last]
		l.cond, l.condReps = l.cond[:last], l.condReps[:last]
	default:
		reps = l.otherReps
		last := len(l.other) - 1
		l.other[i] = l.other[last]
		l.other, l.otherReps = l.other[:last], l.otherReps[:last]
	}
	last := len(reps) - 1
	reps[i] = reps[last]
	reps[last] = report{}
	if i == last {
		return nil
	}
	return &reps[i]
}

// report is what a posting hands to MatchQueries' callback: the entry's
// query and ids. All the reports of an entry share one ids array.
type report struct {
	query string
	ids   []string
}

const (
	checkExact     = ^uint32(0)
	checkOnce      = ^uint32(0) - 1
	checkEval      = ^uint32(0) - 2
	checkEvalOne   = ^uint32(0) - 3
	checkDecides   = 1 << 31
	checkAbsent    = 1 << absentShift
	absentShift    = 30
	checkShared    = 1 << 29
	checkPhrase    = 1 << 28
	checkPhraseRev = 1 << 27
	checkKeyMask   = checkPhraseRev - 1
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
// code, prog[1:1+n] the code, then the k posting keys it is filed under
// and then, in the same order, its place in each of those posting lists
// (kept so that Add can update the ids its postings carry and Remove can
// unfile it). Its query and ids live in its reports: see home.
type entry struct {
	prog []uint32
}

// filed returns the posting keys of the entry and its places in them.
func (e *entry) filed() (keys, at []uint32) {
	rest := e.prog[1+e.prog[0]:]
	k := len(rest) / 2
	return rest[:k:k], rest[k:]
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
		queries: newHashedKeys(),
		ids:     newHashedKeys(),
		seed:    maphash.MakeSeed(),
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
	return ix.ids.len()
}

// Distinct returns the number of distinct queries in the index.
func (ix *Index) Distinct() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.queries.len()
}

// Add files subscription id under query q, replacing what id followed
// before.
func (ix *Index) Add(id string, q *Query) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.add(id, q)
}

func (ix *Index) add(id string, q *Query) {
	if e, ok := ix.lookupID(id); ok {
		if ix.home(e).query == q.root.str {
			return
		}
		ix.remove(id, e)
	}
	e := ix.entryFor(q)
	ix.setIDs(e, append(ix.home(e).ids, id))
	ix.ids.file(ix.hashID(id), id, e)
}

// AddBatch files each ids[i] under qs[i], as Add would one after the
// other, under one lock. It is the way to load many subscriptions: the
// ids of each query are appended all at once, so a query followed by
// many grows its list once per batch rather than once per id.
func (ix *Index) AddBatch(ids []string, qs []*Query) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	pend := ix.pending[:0] // entry<<32 | position in ids
	if ix.batchQs == nil {
		ix.batchQs = make(map[*Query]uint32)
	}
	defer clear(ix.batchQs)
	for i, id := range ids {
		h := ix.hashID(id)
		_, _, taken := ix.ids.find(h, id)
		if taken {
			// Already filed, twice in the batch, or a hash another id
			// holds: file it on its own, after what came before it.
			ix.appendIDs(pend, ids)
			pend = pend[:0]
			ix.add(id, qs[i])
			clear(ix.batchQs) // add may have dropped an entry
			continue
		}
		// A query that many follow recurs in a batch, as one parsed
		// Query when the caller parses each topic once: look it up by
		// pointer, in a map small enough to stay in cache.
		e, ok := ix.batchQs[qs[i]]
		if !ok {
			e = ix.entryFor(qs[i])
			ix.batchQs[qs[i]] = e
		}
		ix.ids.byHash[h] = e
		pend = append(pend, uint64(e)<<32|uint64(i))
	}
	ix.appendIDs(pend, ids)
	ix.pending = pend[:0]
}

// appendIDs appends ids[i] to the ids of entry e for each e<<32|i in pend.
func (ix *Index) appendIDs(pend []uint64, ids []string) {
	slices.Sort(pend)
	for i := 0; i < len(pend); {
		e := uint32(pend[i] >> 32)
		j := i + 1
		for j < len(pend) && uint32(pend[j]>>32) == e {
			j++
		}
		list := slices.Grow(ix.home(e).ids, j-i)
		for _, p := range pend[i:j] {
			list = append(list, ids[uint32(p)])
		}
		ix.setIDs(e, list)
		i = j
	}
}

// entryFor returns the entry of q, made if there is none.
func (ix *Index) entryFor(q *Query) uint32 {
	if e, ok := ix.lookupQuery(q.root.str); ok {
		return e
	}
	return ix.newEntry(q)
}

func (ix *Index) hashID(id string) uint64 {
	if ix.weak != nil {
		return ix.weak(id)
	}
	return maphash.String(ix.seed, id)
}

// hashedKeys maps strings (queries, ids) to entry numbers through a
// 64-bit hash of each: a map of hashes holds no pointers, which the
// garbage collector then need not scan, and is cheap to fill. A string
// whose hash another already holds goes in clash instead. A hit in byHash
// is only a candidate: the caller confirms it against the entry.
type hashedKeys struct {
	byHash map[uint64]uint32
	clash  map[string]uint32
}

func newHashedKeys() hashedKeys {
	return hashedKeys{byHash: make(map[uint64]uint32), clash: make(map[string]uint32)}
}

func (m *hashedKeys) len() int { return len(m.byHash) + len(m.clash) }

// find returns the entry of s, whose hash is h: sure when s itself is
// filed (in clash), otherwise the candidate that holds h, if any.
func (m *hashedKeys) find(h uint64, s string) (e uint32, sure, ok bool) {
	if len(m.clash) > 0 {
		if e, ok := m.clash[s]; ok {
			return e, true, true
		}
	}
	e, ok = m.byHash[h]
	return e, false, ok
}

// file records entry e for s, whose hash is h and which is not filed.
func (m *hashedKeys) file(h uint64, s string, e uint32) {
	if _, taken := m.byHash[h]; taken {
		m.clash[s] = e
		return
	}
	m.byHash[h] = e
}

// unfile forgets s, whose hash is h and which is filed.
func (m *hashedKeys) unfile(h uint64, s string) {
	if _, ok := m.clash[s]; ok {
		delete(m.clash, s)
		return
	}
	delete(m.byHash, h)
}

// lookupQuery returns the entry of normalised query s.
func (ix *Index) lookupQuery(s string) (uint32, bool) {
	e, sure, ok := ix.queries.find(ix.hashID(s), s)
	if ok && (sure || ix.home(e).query == s) {
		return e, true
	}
	return 0, false
}

// heldQuery returns the entry of normalised query s, which the index
// holds, without reading the entry (which remove may be changing).
func (ix *Index) heldQuery(s string) uint32 {
	e, _, _ := ix.queries.find(ix.hashID(s), s)
	return e
}

// lookupID returns the entry that subscription id follows.
func (ix *Index) lookupID(id string) (uint32, bool) {
	e, sure, ok := ix.ids.find(ix.hashID(id), id)
	if ok && (sure || slices.Contains(ix.home(e).ids, id)) {
		return e, true
	}
	return 0, false
}

// home returns the report of the first posting of entry e; all the
// reports of e are the same.
func (ix *Index) home(e uint32) *report {
	keys, at := ix.entries[e].filed()
	return ix.lists[keys[0]].report(at[0])
}

// setIDs gives every report of entry e the ids.
func (ix *Index) setIDs(e uint32, ids []string) {
	keys, at := ix.entries[e].filed()
	for i, key := range keys {
		ix.lists[key].report(at[i]).ids = ids
	}
}

// Remove drops subscription id; it reports whether id was there.
func (ix *Index) Remove(id string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	e, ok := ix.lookupID(id)
	if ok {
		ix.remove(id, e)
	}
	return ok
}

func (ix *Index) remove(id string, e uint32) {
	ix.ids.unfile(ix.hashID(id), id)
	h := ix.home(e)
	ids := h.ids
	if i := slices.Index(ids, id); i >= 0 {
		last := len(ids) - 1
		ids[i] = ids[last]
		ids[last] = ""
		ids = ids[:last]
	}
	if len(ids) > 0 {
		ix.setIDs(e, ids)
		return
	}
	ix.queries.unfile(ix.hashID(h.query), h.query)
	keys, at := ix.entries[e].filed()
	for i, key := range keys {
		// The last posting of the part moves into this one's place: tell
		// its entry where it went.
		l := ix.lists[key]
		if moved := l.remove(at[i]); moved != nil {
			mkeys, mat := ix.entries[ix.heldQuery(moved.query)].filed()
			mat[slices.Index(mkeys, key)] = at[i]
		}
		if l.empty() {
			ix.lists[key] = nil
		}
	}
	ix.entries[e] = entry{}
	ix.free = append(ix.free, e)
}

// newEntry compiles q, files it under its selecting keys and returns its
// entry number.
func (ix *Index) newEntry(q *Query) uint32 {
	// code, keys and checks are copied into prog: build them in buffers
	// the index keeps, one allocation per entry instead of four.
	code := ix.compile(q.root, ix.buf.code[:0])
	keys, checks := ix.filing(q.root)
	ix.buf.code = code
	prog := make([]uint32, 1+len(code)+2*len(keys))
	prog[0] = uint32(len(code))
	copy(prog[1:], code)
	copy(prog[1+len(code):], keys)
	at := prog[1+len(code)+len(keys):]

	var e uint32
	if n := len(ix.free); n > 0 {
		e = ix.free[n-1]
		ix.free = ix.free[:n-1]
	} else {
		e = uint32(len(ix.entries))
		ix.entries = append(ix.entries, entry{})
	}
	ix.entries[e] = entry{prog: prog}
	ix.queries.file(ix.hashID(q.root.str), q.root.str, e)
	for i, key := range keys {
		if ix.lists[key] == nil {
			ix.lists[key] = new(postingList)
		}
		at[i] = ix.lists[key].add(posting{e, checks[i]}, report{query: q.root.str})
	}
	return e
}

// filing returns the posting keys of a query and the check of the posting
// under each (see posting).
func (ix *Index) filing(root *node) (keys, checks []uint32) {
	keys, _ = ix.selectors(root, ix.buf.keys[:0])
	slices.Sort(keys)
	keys = slices.Compact(keys)
	ix.buf.keys = keys
	checks = slices.Grow(ix.buf.checks[:0], len(keys))[:len(keys)]
	ix.buf.checks = checks
	orOfTwo := root.op == opOr && len(keys) == 2 &&
		!slices.ContainsFunc(root.kids, func(k *node) bool { return !simpleTerm(k) })
	if orOfTwo {
		// "a OR b": a match under a; under b, a match unless a occurs too,
		// which the posting under a reports. No per-article marks needed.
		checks[0], checks[1] = checkExact, keys[0]|checkDecides|checkAbsent
		return keys, checks
	}
	check := ix.filingCheck(root, keys)
	switch {
	case check == checkEval && len(keys) == 1:
		check = checkEvalOne
	case check < checkEvalOne && check&checkDecides == 0 && len(keys) > 1:
		check |= checkShared
	}
	for i := range checks {
		checks[i] = check
	}
	return keys, checks
}

// filingCheck returns the check shared by all the postings of a query
// filed under keys.
func (ix *Index) filingCheck(root *node, keys []uint32) (check uint32) {
	switch root.op {
	case opTerm:
		if simpleTerm(root) {
			return checkExact
		}
		// A phrase, filed under its rarest word: check a second word,
		// and for two words their order, which then decides.
		check := ix.secondWord(root, keys[0])
		if check != checkEval && len(root.words) == 2 {
			if check>>1 == ix.dict[keyWord][root.words[0]] {
				return check | checkDecides | checkPhraseRev
			}
			return check | checkDecides | checkPhrase
		}
		return check
	case opOr:
		if !slices.ContainsFunc(root.kids, func(k *node) bool { return !simpleTerm(k) }) {
			if len(keys) == 1 { // "drone OR drones": one stem
				return checkExact
			}
			return checkOnce
		}
		return checkEval
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
			return check | checkDecides
		case other.op == opNot && other.kids[0].op == opTerm && simpleTerm(other.kids[0]) && root.kids[0].op == opTerm && simpleTerm(root.kids[0]):
			ks, _ := ix.selectors(other.kids[0], nil)
			return ks[0] | checkDecides | checkAbsent
		}
	}
	return check
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
		id := ix.dict[keyWord][w]
		if k, c := id*2+field, ix.shares[id]; k != filed && c < best {
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
	ix.lists = append(ix.lists, nil, nil)
	share := 0.0
	switch kind {
	case keyStem:
		share = ix.freq.share(s)
	case keyWord:
		share = ix.freq.share(stem(s))
	}
	ix.shares = append(ix.shares, share)
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
		id := ix.dict[keyStem][n.stem]
		return append(keys, id*2+field), scale * ix.shares[id]
	case termPrefix:
		return append(keys, ix.dict[keyPrefix][n.words[0]]*2+field), scale * 0.5 / float64(len(n.words[0]))
	case termSite:
		return append(keys, ix.dict[keyHost][n.words[0]]*2), 0.05
	}
	// A phrase: file it under its rarest word.
	bw, bc := uint32(0), 2.0
	for _, w := range n.words {
		id := ix.dict[keyWord][w]
		if c := ix.shares[id]; c < bc {
			bw, bc = id, c
		}
	}
	return append(keys, bw*2+field), scale * bc * 0.5
}

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
			t += len(l.exact[0].ids)
		}
		if len(l.cond) > 0 {
			t += int(l.cond[0]) + len(l.condReps[0].ids)
		}
		if len(l.other) > 0 {
			t += int(l.other[0].check)
		}
	}
	s.touch = t
	for li, key := range s.lkeys {
		l := ix.lists[key]
		for i := range l.exact {
			if r := &l.exact[i]; !fn(r.query, r.ids) {
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
			if r := &l.condReps[i]; !fn(r.query, r.ids) {
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
			if r := &reps[i]; !fn(r.query, r.ids) {
				return
			}
		}
	}
	// Each candidate's compiled query is two cache misses away (its entry,
	// then its code): take them for all candidates at once, then evaluate.
	t = 0
	for _, ev := range s.evals {
		p := ix.lists[s.lkeys[ev>>32]].other[uint32(ev)]
		t += int(ix.entries[p.entry].prog[0])
	}
	s.touch += t
	for _, ev := range s.evals {
		l := ix.lists[s.lkeys[ev>>32]]
		i := uint32(ev)
		prog := ix.entries[l.other[i].entry].prog
		if !s.eval(d, prog[1:1+prog[0]]) {
			continue
		}
		if r := &l.otherReps[i]; !fn(r.query, r.ids) {
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
