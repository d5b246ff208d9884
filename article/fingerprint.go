package article

import (
	"hash/fnv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// shingleWords is the number of consecutive words hashed together. Three
// keeps word order (a rewritten sentence changes its shingles) while one
// changed word touches only three shingles.
const shingleWords = 3

// NearDuplicateBits is the largest Hamming distance between two Simhash
// fingerprints of one story. Calibrated in fingerprint_test.go on the
// extraction corpus: lightly edited copies of an article (new headline,
// a sign-off or boilerplate line added, a few words changed, the last
// paragraph cut) stay within it, while distinct articles, including two
// press releases from one company sharing their boilerplate, stay well
// outside it: on 83 articles of 150+ words, edited copies are at most 10
// bits away (median 3), different articles at least 17 (median 32, the
// closest two from one site 23). For unrelated texts each bit is a fair
// coin, so a false match has odds of about 1.6e-7 per pair: some 0.1 among
// the half-million pairs of 1,000 articles compared within 72 hours.
const NearDuplicateBits = 10

// Simhash returns a 64-bit fingerprint of text: similar texts get
// fingerprints a small Hamming distance apart. Words are lower-cased and
// accent-folded, so "Lukašenka" and "Lukasenka" agree. Each 3-word shingle
// votes on every bit with its hash; a text of fewer than three words is
// one shingle, and a text with no words has fingerprint 0.
func Simhash(text string) uint64 {
	words := foldedWords(text)
	if len(words) == 0 {
		return 0
	}
	var votes [64]int
	n := max(1, len(words)-shingleWords+1)
	for i := 0; i < n; i++ {
		h := shingleHash(words[i:min(i+shingleWords, len(words))])
		for b := 0; b < 64; b++ {
			if h&(1<<b) != 0 {
				votes[b]++
			} else {
				votes[b]--
			}
		}
	}
	var fp uint64
	for b, v := range votes {
		if v > 0 {
			fp |= 1 << b
		}
	}
	return fp
}

// shingleHash is FNV-1a over the words, then a 64-bit finaliser: FNV's last
// bytes barely reach the high bits, and Simhash needs every bit to be an
// even coin.
func shingleHash(words []string) uint64 {
	h := fnv.New64a()
	for i, w := range words {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(w))
	}
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// foldedWords splits text into lower-cased words without accents.
func foldedWords(text string) []string {
	var b strings.Builder
	b.Grow(len(text))
	for _, r := range norm.NFKD.String(text) {
		switch {
		case unicode.Is(unicode.Mn, r):
			// a combining accent: dropped, the base letter stays
		case unicode.IsLetter(r) || unicode.IsNumber(r):
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Fields(b.String())
}
