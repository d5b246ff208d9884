package subscriptions

import (
	"encoding/binary"
	"iter"
	"strings"
)

// IDs are the subscription ids that follow one query, packed the way the
// index keeps them: their count, then each id after its length (both
// unsigned varints), in one string. At ten million subscriptions a slice
// of strings was 22 bytes an id and a pointer each for the garbage
// collector; packed, a matcher's 6-byte id takes 7.
type IDs string

// Len returns the number of ids.
func (s IDs) Len() int {
	n, _ := uvarint(string(s))
	return n
}

// All yields the ids in order.
func (s IDs) All() iter.Seq[string] {
	return func(yield func(string) bool) {
		rest := s.body()
		for len(rest) > 0 {
			id, after := next(rest)
			if !yield(id) {
				return
			}
			rest = after
		}
	}
}

// body returns the ids without their count.
func (s IDs) body() string {
	if s == "" {
		return ""
	}
	_, k := uvarint(string(s))
	return string(s[k:])
}

// next splits the first id off packed ids.
func next(body string) (id, rest string) {
	n, k := uvarint(body)
	return body[k : k+n], body[k+n:]
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
	body := s.body()
	size := len(body)
	for _, id := range more {
		size += uvarintLen(len(id)) + len(id)
	}
	n := s.Len() + len(more)
	var b strings.Builder
	b.Grow(uvarintLen(n) + size)
	var buf [binary.MaxVarintLen64]byte
	b.Write(binary.AppendUvarint(buf[:0], uint64(n)))
	b.WriteString(body)
	for _, id := range more {
		b.Write(binary.AppendUvarint(buf[:0], uint64(len(id))))
		b.WriteString(id)
	}
	return IDs(b.String())
}

// withoutID returns s without id (once), and whether it was there.
func withoutID(s IDs, id string) (IDs, bool) {
	body := s.body()
	for at := 0; at < len(body); {
		x, rest := next(body[at:])
		if x != id {
			at = len(body) - len(rest)
			continue
		}
		n := s.Len() - 1
		if n == 0 {
			return "", true
		}
		var b strings.Builder
		b.Grow(uvarintLen(n) + len(body) - (len(body) - at - len(rest)))
		var buf [binary.MaxVarintLen64]byte
		b.Write(binary.AppendUvarint(buf[:0], uint64(n)))
		b.WriteString(body[:at])
		b.WriteString(rest)
		return IDs(b.String()), true
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
