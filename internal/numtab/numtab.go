// Package numtab maps 64-bit hashes of keys to 32-bit numbers (entries,
// subscribers) in about 10 bytes a key, where a Go map from hashes takes
// 20 to 30 and a map of strings far more. The table keeps no keys: the
// caller keeps them beside the numbers and confirms each candidate the
// table offers, so two keys whose hashes agree in the bits it keeps are
// told apart by the caller, never confused.
//
// It is open addressing with linear probing. A slot holds the upper half
// of the hash (never 0, which marks an empty slot) and the number; where
// a key's probe starts is that half modulo the size, so the table can
// grow and move entries without the keys. A lookup reads a run of
// adjacent slots, most often within one cache line, and deletion moves
// later slots back rather than leaving tombstones.
package numtab

// Table is a map from hashes to numbers; its zero value is empty and
// ready to use. It is not safe for concurrent writes.
type Table struct {
	slots []uint64 // fingerprint<<32 | number; 0: empty
	n     int
}

// Len returns the number of entries.
func (t *Table) Len() int { return t.n }

// fingerprint is what a slot keeps of hash h: its upper half, never 0.
func fingerprint(h uint64) uint64 {
	f := h >> 32
	if f == 0 {
		f = 1
	}
	return f
}

// Find returns the first number filed under hash h that accepts says yes
// to (nil: the first), which tells whether the caller's key for that
// number is the one looked for.
func (t *Table) Find(h uint64, accepts func(uint32) bool) (uint32, bool) {
	if t.n == 0 {
		return 0, false
	}
	f := fingerprint(h)
	mask := uint64(len(t.slots) - 1)
	for i := f & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return 0, false
		}
		if s>>32 == f && (accepts == nil || accepts(uint32(s))) {
			return uint32(s), true
		}
	}
}

// Insert files number v under hash h, beside any already filed there.
func (t *Table) Insert(h uint64, v uint32) {
	if (t.n+1)*5 > len(t.slots)*4 { // at most 80% full
		t.resize(max(16, 2*len(t.slots)))
	}
	t.put(fingerprint(h)<<32 | uint64(v))
	t.n++
}

// put places slot s in the first empty slot from its home.
func (t *Table) put(s uint64) {
	mask := uint64(len(t.slots) - 1)
	i := s >> 32 & mask
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

// resize moves the entries into a table of size slots (a power of two).
func (t *Table) resize(size int) {
	old := t.slots
	t.slots = make([]uint64, size)
	for _, s := range old {
		if s != 0 {
			t.put(s)
		}
	}
}

// Delete removes number v filed under hash h, if it is there.
func (t *Table) Delete(h uint64, v uint32) {
	if t.n == 0 {
		return
	}
	want := fingerprint(h)<<32 | uint64(v)
	mask := uint64(len(t.slots) - 1)
	i := want >> 32 & mask
	for t.slots[i] != want {
		if t.slots[i] == 0 {
			return
		}
		i = (i + 1) & mask
	}
	t.slots[i] = 0
	t.n--
	// A later slot of the run whose probe starts at or before the hole
	// (cyclically) can no longer be reached past it: move it into the
	// hole, which moves the hole on.
	for j := (i + 1) & mask; t.slots[j] != 0; j = (j + 1) & mask {
		home := t.slots[j] >> 32 & mask
		if (j-home)&mask >= (j-i)&mask {
			t.slots[i], t.slots[j] = t.slots[j], 0
			i = j
		}
	}
	if t.n > 0 && t.n*10 < len(t.slots) && len(t.slots) > 16 {
		t.resize(len(t.slots) / 2) // at most a tenth full: halve
	}
}
