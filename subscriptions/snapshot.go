package subscriptions

import (
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"sync"

	"github.com/herald-news/herald/internal/binfile"
)

// An index is saved as what it holds, not as its queries: reading the
// compiled form back is a matter of seconds where compiling ten million
// topics again took most of a minute. What depends on a process (the
// hash seed of the tables, the vocabulary's numbers) is built again on
// reading.
//
// The file holds compiled code, so a build that compiles differently
// must not read an older file as its own. Rather than trust a version
// number kept by hand, the file carries formatMark: a checksum of an
// index of sample queries as this build compiles and files them. A
// build that compiles any of them otherwise (a new check, another
// choice of posting key, a changed instruction) reads a different mark
// and refuses the file; the matcher then loads from Redis.

// ErrNotSaved is returned by SaveTo for an index that holds ids filed by
// Add or AddBatch: only an index filed with FileBatch, whose caller keeps
// the handles, is saved.
var ErrNotSaved = errors.New("index holds ids filed by Add: it is not saved")

// ErrOtherFormat is returned by ReadIndex for a file that another build
// of the index wrote.
var ErrOtherFormat = errors.New("saved index is of another format")

// SaveTo writes the index to w.
func (ix *Index) SaveTo(w *binfile.Writer) error {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.ids.Len() > 0 {
		return ErrNotSaved
	}
	w.Uint(uint64(formatMark()))
	ix.save(w)
	return nil
}

func (ix *Index) save(w *binfile.Writer) {
	// Keys in the order of their ids.
	kinds := make([]byte, ix.nkeys)
	names := make([]string, ix.nkeys)
	for k, d := range ix.dict {
		for s, id := range d {
			kinds[id], names[id] = byte(k), s
		}
	}
	w.Uint(uint64(ix.nkeys))
	for id := range names {
		w.Uint(uint64(kinds[id]))
		w.String(names[id])
	}
	w.Float64s(ix.shares)
	// Posting lists: their lengths, the checks of cond and the postings
	// of other; their reports are filled in again from the entries.
	for _, l := range ix.lists {
		if l == nil {
			w.Uint(0)
			continue
		}
		w.Uint(1)
		w.Uint(uint64(len(l.exact)))
		w.Uint32s(l.cond)
		w.Uint32sOf(2*len(l.other), func(i int) uint32 {
			if p := l.other[i/2]; i%2 == 0 {
				return p.entry
			} else {
				return p.check
			}
		})
	}
	w.Uint32sOf(2*len(ix.entries), func(i int) uint32 {
		if en := ix.entries[i/2]; i%2 == 0 {
			return en.at
		} else {
			return en.n
		}
	})
	w.Uint32s(ix.free)
	w.Uint(uint64(len(ix.progs)))
	for _, c := range ix.progs {
		w.Uint32s(c)
	}
	w.Uint(uint64(ix.progLen))
	w.Uint(uint64(ix.progHoles))
	w.Uint(uint64(ix.handled))
	// The ids of each entry: their lengths and counts, then all of them
	// as one string, which reading keeps as one allocation.
	ids := func(e int) IDs {
		if ix.entries[e].n == 0 {
			return IDs{}
		}
		return ix.home(uint32(e)).ids
	}
	total := 0
	w.Uint32sOf(len(ix.entries), func(e int) uint32 {
		n := len(ids(e).packed)
		total += n
		return uint32(n)
	})
	w.Uint32sOf(len(ix.entries), func(e int) uint32 { return uint32(ids(e).n) })
	w.Uint(uint64(total))
	for e, en := range ix.entries {
		if en.n != 0 {
			w.Raw(ix.home(uint32(e)).ids.packed)
		}
	}
}

// ReadIndex reads an index SaveTo wrote; freq is the Frequencies of keys
// made from now on (those read keep the shares they were made with).
func ReadIndex(r *binfile.Reader, freq *Frequencies) (*Index, error) {
	if mark := r.Uint(); r.Err() == nil && mark != uint64(formatMark()) {
		return nil, ErrOtherFormat
	}
	ix := NewIndex(freq)
	if err := ix.read(r); err != nil {
		return nil, err
	}
	return ix, nil
}

func (ix *Index) read(r *binfile.Reader) (err error) {
	// The file passed its checksum and carries this build's mark, so it
	// is one this code wrote; a number out of range can still only mean
	// damage that the checksum missed, and is reported as such.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("saved index inconsistent (%v): %w", p, binfile.ErrDamaged)
		}
	}()
	nkeys := r.Len(2)
	for id := range nkeys {
		kind, s := keyKind(r.Uint()), r.String()
		if r.Err() != nil {
			return r.Err()
		}
		if kind >= numKeyKinds {
			return fmt.Errorf("key of kind %d: %w", kind, binfile.ErrDamaged)
		}
		ix.dict[kind][s] = uint32(id)
		switch kind {
		case keyWord:
			ix.byWord = setNumbered(ix.byWord, lookupWord(s).word, uint32(id))
		case keyStem:
			ix.byStem = setNumbered(ix.byStem, numberStem(s), uint32(id))
		case keyPrefix:
			if i, found := slices.BinarySearch(ix.prefixLens, len(s)); !found {
				ix.prefixLens = slices.Insert(ix.prefixLens, i, len(s))
			}
		}
	}
	ix.nkeys = uint32(nkeys)
	ix.shares = r.Float64s()
	ix.lists = make([]*postingList, 2*nkeys)
	for k := range ix.lists {
		if r.Uint() == 0 {
			continue
		}
		l := &postingList{exact: make([]report, r.Len(1))}
		l.cond = r.Uint32s()
		l.condReps = make([]report, len(l.cond))
		pairs := r.Uint32s()
		l.other = make([]posting, len(pairs)/2)
		for i := range l.other {
			l.other[i] = posting{pairs[2*i], pairs[2*i+1]}
		}
		l.otherReps = make([]report, len(l.other))
		ix.lists[k] = l
	}
	flat := r.Uint32s()
	ix.entries = make([]entry, len(flat)/2)
	for e := range ix.entries {
		ix.entries[e] = entry{flat[2*e], flat[2*e+1]}
	}
	ix.free = r.Uint32s()
	ix.progs = make([][]uint32, r.Len(1))
	for i := range ix.progs {
		c := r.Uint32s()
		ix.progs[i] = append(make([]uint32, 0, max(progChunk, len(c))), c...)
	}
	ix.progLen, ix.progHoles, ix.handled = int(r.Uint()), int(r.Uint()), int(r.Uint())
	lens, counts := r.Uint32s(), r.Uint32s()
	blob := r.String()
	if err := r.Err(); err != nil {
		return err
	}
	if len(lens) != len(ix.entries) || len(counts) != len(ix.entries) || len(ix.shares) != nkeys {
		return fmt.Errorf("saved index: lengths disagree: %w", binfile.ErrDamaged)
	}
	// Each entry's ids are a part of the one string read: they stay in
	// it until changed (Add and Unfile make new strings), so that string
	// lives as long as one entry that was read is unchanged.
	at := 0
	for e, en := range ix.entries {
		if en.n == 0 {
			continue
		}
		ids := IDs{packed: blob[at : at+int(lens[e])], n: int32(counts[e])}
		at += int(lens[e])
		ix.setIDs(uint32(e), ids)
		ix.queries.Insert(ix.hashID(ids.Query()), uint32(e))
	}
	if at != len(blob) {
		return fmt.Errorf("saved index: ids disagree: %w", binfile.ErrDamaged)
	}
	return nil
}

// formatMark is the checksum of an index of sample queries, one of each
// construct of the query language, as this build compiles and files them.
var formatMark = sync.OnceValue(func() uint32 {
	ix := NewIndex(nil)
	var ids []string
	var qs []*Query
	for i, s := range []string{
		"iran", "iran drones", "belarus OR minsk", `"military cooperation"`, "iran -ukraine",
		`-"press tv" drones`, "title:minsk", `title:"state visit"`, "site:example.com",
		"drone*", "lang:ru иран", "(zebra OR iran OR drones) the", "a b c d OR e -f",
		`"the who" OR "rolling stones"`, "site:bbc.co.uk -sport title:election",
	} {
		ids = append(ids, fmt.Sprint(i))
		qs = append(qs, MustParse(s))
	}
	ix.FileBatch(ids, qs, make([]uint32, len(ids)))
	sum := crc32.NewIEEE()
	w := binfile.NewWriter(sum)
	ix.save(w)
	w.Flush()
	return sum.Sum32()
})
