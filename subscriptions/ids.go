package subscriptions

import (
	"encoding/binary"
	"iter"
	"strings"
)

// IDs are a query of the index with the subscription ids that follow it,
// as the index keeps them: one string holding the query's normalised text
// and then each id, each after its length (an unsigned varint), with the
// count of ids beside it. At ten million subscriptions a slice of strings
// was 22 bytes an id and a pointer each for the garbage collector, and
// every posting of a query had its own copy of the text's header; packed,
// a matcher's 6-byte id takes 7. The count is kept apart so that counting
// matches reads nothing more.
type IDs struct {
	packed string
	n      int32
}

// newIDs returns the query's text and ids, in a string of their own.
func newIDs(query string, ids ...string) IDs {
	var p packer
	p.Grow(packedLen(query) + packedLen(ids...))
	p.add(query)
	for _, id := range ids {
		p.add(id)
	}
	return IDs{p.String(), int32(len(ids))}
}

// packer writes strings each after its length.
type packer struct {
	strings.Builder
	buf [binary.MaxVarintLen64]byte
}

func (p *packer) add(s string) {
	p.Write(binary.AppendUvarint(p.buf[:0], uint64(len(s))))
	p.WriteString(s)
}

// packedLen is the length of the strings packed.
func packedLen(ss ...string) int {
	n := 0
	for _, s := range ss {
		n += uvarintLen(len(s)) + len(s)
	}
	return n
}

// Query returns the normalised text of the query the ids follow.
func (s IDs) Query() string {
	q, _ := next(s.packed)
	return q
}

// Len returns the number of ids.
func (s IDs) Len() int { return int(s.n) }

// body returns the packed ids after the query.
func (s IDs) body() string {
	_, rest := next(s.packed)
	return rest
}

// All yields the ids in order.
func (s IDs) All() iter.Seq[string] {
	return func(yield func(string) bool) {
		for rest := s.body(); len(rest) > 0; {
			id, after := next(rest)
			if !yield(id) {
				return
			}
			rest = after
		}
	}
}

// next splits the first string off packed strings.
func next(packed string) (first, rest string) {
	if packed == "" {
		return "", ""
	}
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
	var p packer
	p.Grow(len(s.packed) + packedLen(more...))
	p.WriteString(s.packed)
	for _, id := range more {
		p.add(id)
	}
	return IDs{p.String(), s.n + int32(len(more))}
}

// withoutID returns s without id (once), and whether it was there.
func withoutID(s IDs, id string) (IDs, bool) {
	body := s.body()
	head := len(s.packed) - len(body)
	for at := 0; at < len(body); {
		x, rest := next(body[at:])
		if x != id {
			at = len(body) - len(rest)
			continue
		}
		return IDs{s.packed[:head+at] + rest, s.n - 1}, true
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
