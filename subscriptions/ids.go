package subscriptions

import (
	"encoding/binary"
	"iter"
	"strings"
)

// IDs are the subscription ids that follow one query, as the index keeps
// them: packed in one string, each id after its length (an unsigned
// varint), with their count beside it. At ten million subscriptions a
// slice of strings was 22 bytes an id and a pointer each for the garbage
// collector; packed, a matcher's 6-byte id takes 7. The count is kept
// apart so that counting matches reads no id.
type IDs struct {
	packed string
	n      int
}

// Len returns the number of ids.
func (s IDs) Len() int { return s.n }

// All yields the ids in order.
func (s IDs) All() iter.Seq[string] {
	return func(yield func(string) bool) {
		for rest := s.packed; len(rest) > 0; {
			id, after := next(rest)
			if !yield(id) {
				return
			}
			rest = after
		}
	}
}

// next splits the first id off packed ids.
func next(packed string) (id, rest string) {
	n, k := uvarint(packed)
	return packed[k : k+n], packed[k+n:]
}

// Contains reports whether id is one of the ids.
func (s IDs) Contains(id string) bool {
	for x := range s.All() {
		if x == id {
			return true
		}
	}
	return false
}

// packIDs returns s with more appended.
func packIDs(s IDs, more ...string) IDs {
	size := len(s.packed)
	for _, id := range more {
		size += uvarintLen(len(id)) + len(id)
	}
	var b strings.Builder
	b.Grow(size)
	b.WriteString(s.packed)
	var buf [binary.MaxVarintLen64]byte
	for _, id := range more {
		b.Write(binary.AppendUvarint(buf[:0], uint64(len(id))))
		b.WriteString(id)
	}
	return IDs{b.String(), s.n + len(more)}
}

// withoutID returns s without id (once), and whether it was there.
func withoutID(s IDs, id string) (IDs, bool) {
	for at := 0; at < len(s.packed); {
		x, rest := next(s.packed[at:])
		if x != id {
			at = len(s.packed) - len(rest)
			continue
		}
		if s.n == 1 {
			return IDs{}, true
		}
		return IDs{s.packed[:at] + rest, s.n - 1}, true
	}
	return s, false
}

// uvarint decodes the unsigned varint at the start of s, which packIDs
// wrote, and returns it and its length.
func uvarint(s string) (n, k int) {
	for shift := 0; k < len(s); shift += 7 {
		c := s[k]
		k++
		n |= int(c&0x7f) << shift
		if c < 0x80 {
			break
		}
	}
	return n, k
}

func uvarintLen(n int) int {
	k := 1
	for ; n >= 0x80; n >>= 7 {
		k++
	}
	return k
}
