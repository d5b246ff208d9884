package subscriptions

import (
	"hash/maphash"
	"slices"
	"sync"

	"github.com/herald-news/herald/internal/numtab"
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
	free    []uint32   // unused entry numbers, for reuse
	progs   [][]uint32 // chunks of the entries' progs
	// progLen is how much of progs is taken, progHoles how much of that
	// no entry uses.
	progLen, progHoles int
	// queries finds the entry of each normalised query, and ids the entry
	// each subscription id follows (Add, AddBatch), by a hash of each: the
	// tables keep no strings and nothing the garbage collector must scan,
	// in 10 bytes a key where a Go map of hashes took 20 to 30. The query
	// and the ids themselves are in the entry's reports, where lookupQuery
	// and lookupID confirm the candidates. Nearly every entry of a million
	// subscribers may be a distinct query, and they make millions of ids:
	// a map of strings was most of the time of loading them.
	queries, ids numtab.Table
	seed         maphash.Seed
	weak         func(string) uint64 // if set, hashes ids and queries instead: tests make them clash

	// handled counts the ids filed by FileBatch, which the index keeps
	// no map of (their callers keep their handles).
	handled int

	pending []uint64          // AddBatch's and FileBatch's buffer
	more    []string          // appendIDs' and FileBatch's buffer
	fresh   []uint64          // FileBatch: ids of queries new to the index
	groups  []*Query          // FileBatch: those queries, once each
	batchQs map[*Query]uint32 // AddBatch: the entry of each query of the batch
	// known holds the entries of queries (parsed once, handed in again
	// batch after batch, as a loader that parses each popular topic once
	// does) that an earlier batch of a load found: it is cleared whenever
	// an entry is dropped, and by Trim. Confirming a found query against
	// its entry took a quarter of loading a partition.
	known map[*Query]uint32
	// batchNew, by text: the entries an AddBatch made, or the queries new
	// to the index of a FileBatch (their place in its groups)
	batchNew map[string]uint32
	buf      struct{ code, keys, checks []uint32 } // newEntry's buffers

	pool sync.Pool // *scratch
}

// entry is one distinct query: where its prog is in the index's progs
// (chunk<<progShift | offset) and how long it is, 0 when the entry is
// unused. prog[0] is the length n of the compiled code, prog[1:1+n] the
// code, then the k posting keys it is filed under and then, in the same
// order, its place in each of those posting lists (kept so that Add can
// update the ids its postings carry and Remove can unfile it). Its query
// and ids live in its reports: see home.
//
// The progs of many entries share a chunk, as a slice each made a
// million small allocations (and pointers for the collector to follow).
type entry struct {
	at, n uint32
}

// Chunks of progs hold progChunk numbers.
const (
	progShift = 16
	progChunk = 1 << progShift
)

// prog returns the compiled query of entry e.
func (ix *Index) prog(e uint32) []uint32 {
	en := ix.entries[e]
	c, o := ix.progs[en.at>>progShift], en.at&(progChunk-1)
	return c[o : o+en.n : o+en.n]
}

// filed returns the posting keys of entry e and its places in them.
func (ix *Index) filed(e uint32) (keys, at []uint32) {
	prog := ix.prog(e)
	rest := prog[1+prog[0]:]
	k := len(rest) / 2
	return rest[:k:k], rest[k:]
}

// newProg returns room for a prog of n numbers, and its place.
func (ix *Index) newProg(n int) ([]uint32, uint32) {
	last := len(ix.progs) - 1
	if last < 0 || cap(ix.progs[last])-len(ix.progs[last]) < n {
		ix.progs = append(ix.progs, make([]uint32, 0, max(progChunk, n)))
		last++
	}
	c := ix.progs[last]
	o := len(c)
	ix.progs[last] = c[:o+n]
	ix.progLen += n
	return ix.progs[last][o : o+n : o+n], uint32(last)<<progShift | uint32(o)
}

// dropProg forgets the prog of entry e; when unused room in the chunks
// outgrows the progs in use, they are copied into new chunks.
func (ix *Index) dropProg(e uint32) {
	ix.progHoles += int(ix.entries[e].n)
	ix.entries[e] = entry{}
	if ix.progHoles < compactAfter || ix.progHoles < ix.progLen-ix.progHoles {
		return
	}
	old := ix.progs
	ix.progs, ix.progHoles, ix.progLen = nil, 0, 0
	for e := range ix.entries {
		en := ix.entries[e]
		if en.n == 0 {
			continue
		}
		c, o := old[en.at>>progShift], en.at&(progChunk-1)
		p, at := ix.newProg(int(en.n))
		copy(p, c[o:o+en.n])
		ix.entries[e].at = at
	}
}

// compactAfter is how much unused room in progs may wait for compaction
// however little is used (a variable for tests).
var compactAfter = 1 << 20

// NewIndex returns an empty index. freq, if not nil, tells it which terms
// are rare; it must not change afterwards.
func NewIndex(freq *Frequencies) *Index {
	ix := &Index{
		freq: freq,
		seed: maphash.MakeSeed(),
	}
	for k := range ix.dict {
		ix.dict[k] = make(map[string]uint32)
	}
	return ix
}

// Frequencies returns the counts the index was made with (nil: none).
func (ix *Index) Frequencies() *Frequencies { return ix.freq }

// Len returns the number of subscriptions (ids) in the index.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.ids.Len() + ix.handled
}

// AsksLang reports whether a query of the index has asked for a language
// with lang: (since it was made: keys outlive their queries), so that a
// caller whose article has no language yet knows whether detecting it
// can change a match.
func (ix *Index) AsksLang() bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.dict[keyLang]) > 0
}

// Distinct returns the number of distinct queries in the index.
func (ix *Index) Distinct() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.queries.Len()
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
		if ix.home(e).ids.Query() == q.root.str {
			return
		}
		ix.remove(id, e)
	}
	e := ix.entryFor(q)
	ix.setIDs(e, packIDs(ix.home(e).ids, id))
	ix.ids.Insert(ix.hashID(id), e)
}

// AddBatch files each ids[i] under qs[i], as Add would one after the
// other, under one lock. It is the way to load many subscriptions: the
// ids of each query are appended all at once, so a query followed by
// many grows its list once per batch rather than once per id.
func (ix *Index) AddBatch(ids []string, qs []*Query) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	pend := ix.pending[:0] // entry<<32 | position in ids
	ix.prepareBatch(qs)
	defer ix.endBatch()
	for i, id := range ids {
		h := ix.hashID(id)
		if _, taken := ix.ids.Find(h, nil); taken {
			// Already filed, twice in the batch, or a hash like another
			// id's: file it on its own, after what came before it.
			ix.appendIDs(pend, ids)
			pend = pend[:0]
			ix.add(id, qs[i])
			ix.endBatch() // add may have dropped an entry
			continue
		}
		e := ix.batchEntry(qs[i])
		ix.ids.Insert(h, e)
		pend = append(pend, uint64(e)<<32|uint64(i))
	}
	ix.appendIDs(pend, ids)
	ix.pending = pend[:0]
}

// FileBatch files each ids[i] under qs[i] and sets handles[i] to the
// handle Unfile takes it out with. Unlike Add and AddBatch, it keeps no
// record of which id follows which query: the caller keeps the handles,
// must not file one id twice, and takes an id out only with Unfile, never
// Remove. A matcher, which numbers its ids itself and knows what each
// follows, files them this way: at ten million subscriptions the map of
// ids was a fifth of the index's memory and a third of loading it.
func (ix *Index) FileBatch(ids []string, qs []*Query, handles []uint32) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	pend := ix.pending[:0]
	ix.prepareBatch(qs)
	defer ix.endBatch()
	// A query new to the index is made once the batch is gone through,
	// with all of its ids at once: making it with none and appending
	// them then packed its ids twice and visited its postings again,
	// which at start-up (most queries new) was a sixth of filing.
	fresh := ix.fresh[:0] // group<<32 | position in ids
	groups := ix.groups[:0]
	for i := range ids {
		q := qs[i]
		if e := ix.batchQs[q]; e != noEntry {
			handles[i] = e
			pend = append(pend, uint64(e)<<32|uint64(i))
			continue
		}
		g, ok := ix.batchNew[q.root.str]
		if !ok {
			g = uint32(len(groups))
			groups = append(groups, q)
			ix.batchNew[q.root.str] = g
		}
		fresh = append(fresh, uint64(g)<<32|uint64(i))
	}
	ix.appendIDs(pend, ids)
	slices.Sort(fresh)
	more := ix.more[:0]
	for i := 0; i < len(fresh); {
		g := uint32(fresh[i] >> 32)
		j := i
		for ; j < len(fresh) && uint32(fresh[j]>>32) == g; j++ {
			more = append(more, ids[uint32(fresh[j])])
		}
		e := ix.newEntry(groups[g], more)
		for _, f := range fresh[i:j] {
			handles[uint32(f)] = e
		}
		clear(more)
		more = more[:0]
		i = j
	}
	ix.more = more
	clear(groups)
	ix.pending, ix.fresh, ix.groups = pend[:0], fresh[:0], groups[:0]
	ix.handled += len(ids)
}

// QueryOf returns the normalised query of the entry that handle h (from
// FileBatch) names, while an id is filed under it.
func (ix *Index) QueryOf(h uint32) (string, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if int(h) >= len(ix.entries) || ix.entries[h].n == 0 {
		return "", false
	}
	return ix.home(h).ids.Query(), true
}

// Unfile takes out id, filed by FileBatch with handle h.
func (ix *Index) Unfile(h uint32, id string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if int(h) < len(ix.entries) && ix.entries[h].n != 0 && ix.drop(id, h) {
		ix.handled--
	}
}

// prepareBatch finds the entries of a batch's queries that the index
// holds, once each (a query that many follow recurs in a batch, as one
// parsed Query when the caller parses each topic once).
func (ix *Index) prepareBatch(qs []*Query) {
	if ix.batchQs == nil {
		ix.batchQs = make(map[*Query]uint32)
		ix.known = make(map[*Query]uint32)
		ix.batchNew = make(map[string]uint32)
	}
	for _, q := range qs {
		if _, ok := ix.batchQs[q]; ok {
			continue
		}
		if e, ok := ix.known[q]; ok {
			ix.batchQs[q] = e
			continue
		}
		e, ok := ix.lookupQuery(q.root.str)
		if ok && len(qs) >= 64 { // loading, not following one change
			if len(ix.known) >= 1<<17 {
				clear(ix.known)
			}
			ix.known[q] = e
		} else if !ok {
			e = noEntry
		}
		ix.batchQs[q] = e
	}
}

// endBatch forgets what a batch found.
func (ix *Index) endBatch() {
	clear(ix.batchQs)
	clear(ix.batchNew)
}

// noEntry marks a query of a batch that has no entry yet.
const noEntry = ^uint32(0)

// batchEntry returns the entry of q, one of the batch prepareBatch saw,
// made if there is none.
func (ix *Index) batchEntry(q *Query) uint32 {
	e, ok := ix.batchQs[q]
	if ok && e != noEntry {
		return e
	}
	// Another query of the batch with the same text (parsed apart) may
	// have made the entry.
	if e, made := ix.batchNew[q.root.str]; made {
		ix.batchQs[q] = e
		return e
	}
	if !ok { // the batch was cleared (AddBatch filed an id on its own)
		if e, ok := ix.lookupQuery(q.root.str); ok {
			ix.batchQs[q] = e
			return e
		}
	}
	e = ix.newEntry(q, nil)
	ix.batchQs[q] = e
	ix.batchNew[q.root.str] = e
	return e
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
		more := ix.more[:0]
		for _, p := range pend[i:j] {
			more = append(more, ids[uint32(p)])
		}
		ix.setIDs(e, packIDs(ix.home(e).ids, more...))
		clear(more)
		ix.more = more
		i = j
	}
}

// entryFor returns the entry of q, made if there is none.
func (ix *Index) entryFor(q *Query) uint32 {
	if e, ok := ix.lookupQuery(q.root.str); ok {
		return e
	}
	return ix.newEntry(q, nil)
}

func (ix *Index) hashID(id string) uint64 {
	if ix.weak != nil {
		return ix.weak(id)
	}
	return maphash.String(ix.seed, id)
}

// lookupQuery returns the entry of normalised query s.
func (ix *Index) lookupQuery(s string) (uint32, bool) {
	return ix.queries.Find(ix.hashID(s), func(e uint32) bool { return ix.home(e).ids.Query() == s })
}

// lookupID returns the entry that subscription id follows.
func (ix *Index) lookupID(id string) (uint32, bool) {
	return ix.ids.Find(ix.hashID(id), func(e uint32) bool { return ix.home(e).ids.Contains(id) })
}

// home returns the report of the first posting of entry e; all the
// reports of e are the same.
func (ix *Index) home(e uint32) *report {
	keys, at := ix.filed(e)
	return ix.lists[keys[0]].report(at[0])
}

// setIDs gives every report of entry e the ids.
func (ix *Index) setIDs(e uint32, ids IDs) {
	keys, at := ix.filed(e)
	for i, key := range keys {
		ix.lists[key].report(at[i]).ids = ids
	}
}

// Trim gives back the room that growing the index left at the end of its
// lists, to call once loading is done: lists appended to grow by a
// quarter or more at a time, and after loading millions of
// subscriptions that room was a seventh of the index.
func (ix *Index) Trim() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, l := range ix.lists {
		if l != nil {
			l.trim()
		}
	}
	ix.entries = trimmed(ix.entries)
	ix.known = nil // no more loading: let the queries go
	ix.batchQs, ix.batchNew = nil, nil
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
	ix.ids.Delete(ix.hashID(id), e)
	ix.drop(id, e)
}

// drop takes id out of the ids of entry e, and the entry out of the
// index if it was the last; it reports whether id was there.
func (ix *Index) drop(id string, e uint32) bool {
	h := ix.home(e)
	ids, found := withoutID(h.ids, id)
	switch {
	case !found:
		return false
	case ids.Len() > 0:
		ix.setIDs(e, ids)
		return true
	}
	ix.queries.Delete(ix.hashID(h.ids.Query()), e)
	keys, at := ix.filed(e)
	for i, key := range keys {
		// The last posting of the part moves into this one's place: tell
		// its entry where it went.
		l := ix.lists[key]
		if moved, from := l.remove(at[i]); moved != nil {
			// Its entry is the one of its query that was at from.
			ix.queries.Find(ix.hashID(moved.ids.Query()), func(m uint32) bool {
				mkeys, mat := ix.filed(m)
				if k := slices.Index(mkeys, key); k >= 0 && mat[k] == from {
					mat[k] = at[i]
					return true
				}
				return false
			})
		}
		if l.empty() {
			ix.lists[key] = nil
		}
	}
	ix.dropProg(e)
	ix.free = append(ix.free, e)
	clear(ix.known)
	return true
}

// evaluates reports whether a posting with check c may need its query
// evaluated (see MatchQueries).
func evaluates(c uint32) bool {
	return c == checkEval || c == checkEvalOne || c < checkEvalOne && c&(checkDecides|checkPhrase|checkPhraseRev) == 0
}

// newEntry compiles q, files it under its selecting keys with ids
// following it, and returns its entry number.
func (ix *Index) newEntry(q *Query, ids []string) uint32 {
	// code, keys and checks are copied into prog: build them in buffers
	// the index keeps, one allocation per entry instead of four.
	code := ix.compile(q.root, ix.buf.code[:0]) // interns the keys, too
	keys, checks := ix.filing(q.root)
	ix.buf.code = code
	if !slices.ContainsFunc(checks, evaluates) {
		// Its postings settle every match: the code would never run.
		// (Most queries: a word, two words, one word or another.)
		code = code[:0]
	}
	prog, place := ix.newProg(1 + len(code) + 2*len(keys))
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
	ix.entries[e] = entry{at: place, n: uint32(len(prog))}
	ix.queries.Insert(ix.hashID(q.root.str), e)
	// Its own copy of the text: parsed from a Redis reply, the query's
	// would keep the whole reply, with its other topics, alive.
	packed := newIDs(q.root.str, ids...)
	for i, key := range keys {
		if ix.lists[key] == nil {
			ix.lists[key] = new(postingList)
		}
		at[i] = ix.lists[key].add(posting{e, checks[i]}, report{ids: packed})
	}
	return e
}
