package subscriptions

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"math/bits"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
	"github.com/kljensen/snowball/russian"
	"golang.org/x/text/unicode/norm"
)

// This file is the one tokeniser that queries and articles share: if the
// two ever split or fold text differently, a query silently stops matching
// the articles it was written for.
//
// A token is a maximal run of letters and digits, lower-cased, with accents
// and compatibility forms folded away (Lukašenka → lukasenka, ﬁ → fi).
// An apostrophe (straight or typographic) between two letters is dropped
// and the word goes on (don't → dont, O’Brien → obrien); a possessive ’s
// at the end of a word is dropped (Iran’s → iran); any other apostrophe,
// like the one in “Belarus’ Armed Forces”, just ends the word.
//
// Scripts get the normalisation their writers expect (SPEC, "Topic
// queries"): Cyrillic ё is е, but й stays й (Russian keeps the two apart,
// and its stemmer needs й); the Arabic-script variants that Arabic
// keyboards type for Persian letters are the Persian ones (ي ى → ی,
// ك → ک, ۀ → ه); harakat and tatweel are dropped inside the word;
// Arabic-Indic and Persian digits are ASCII digits. A zero-width
// non-joiner or joiner between two letters is dropped and the word goes
// on: Persian writes one word in parts with it (می‌خواهم, تحریم‌ها), and
// a reader typing it without (میخواهم) or with it means the same word.

// span is one token's place in a folding buffer.
type span struct{ start, end int32 }

// isApostrophe reports the characters that act as an apostrophe.
func isApostrophe(r rune) bool {
	switch r {
	case '\'', '’', '‘', 'ʼ', '′', '`', '´':
		return true
	}
	return false
}

// foldCache holds the folded form of non-ASCII runes: folding goes through
// Unicode decomposition, which is too slow to repeat for every letter of
// every article.
var foldCache sync.Map // rune → foldedRune

type foldedRune struct {
	s    string // the folded letters; empty for a combining mark
	word bool   // whether the rune belongs inside a word
}

// specialFolds are letters that do not decompose into a base letter plus
// marks but that people type without the accent all the same.
var specialFolds = map[rune]string{
	'ß': "ss", 'ẞ': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe",
	'ø': "o", 'Ø': "o", 'ł': "l", 'Ł': "l", 'đ': "d", 'Đ': "d", 'ð': "d",
	'Ð': "d", 'þ': "th", 'Þ': "th", 'ı': "i", 'ħ': "h", 'Ħ': "h",
	// й would decompose to и and a breve.
	'й': "й", 'Й': "й",
	'ي': "ی", 'ى': "ی", 'ك': "ک", 'ۀ': "ه",
}

// Zero-width non-joiner and joiner: inside a word they join it.
const (
	zwnj = '\u200c'
	zwj  = '\u200d'
)

func foldRune(r rune) foldedRune {
	if v, ok := foldCache.Load(r); ok {
		return v.(foldedRune)
	}
	var f foldedRune
	switch {
	case unicode.Is(unicode.Mn, r) || r == 'ـ':
		// A combining accent typed after its letter, a harakah, or the
		// tatweel that stretches an Arabic-script word: drop it, stay in
		// the word.
		f.word = true
	case '٠' <= r && r <= '٩':
		f.word, f.s = true, string(rune('0'+r-'٠'))
	case '۰' <= r && r <= '۹':
		f.word, f.s = true, string(rune('0'+r-'۰'))
	case unicode.IsLetter(r) || unicode.IsDigit(r):
		f.word = true
		if s, ok := specialFolds[r]; ok {
			f.s = s
			break
		}
		var b strings.Builder
		for _, d := range norm.NFKD.String(string(unicode.ToLower(r))) {
			// Ǿ decomposes to Ø and an accent: fold what it decomposes to.
			if s, ok := specialFolds[d]; ok {
				b.WriteString(s)
			} else if (unicode.IsLetter(d) || unicode.IsDigit(d)) && !isApostrophe(d) {
				// ŉ decomposes to ʼn: the ʼ would read as an apostrophe
				// when the folded form is parsed again.
				b.WriteRune(unicode.ToLower(d))
			}
		}
		f.s = b.String()
	}
	foldCache.Store(r, f)
	return f
}

// isWordStart reports whether s starts with a rune that continues a word.
func isWordStart(s string) bool {
	if s == "" {
		return false
	}
	c := s[0]
	if c < utf8.RuneSelf {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
	}
	r, _ := utf8.DecodeRuneInString(s)
	return foldRune(r).word
}

// tokenize appends the folded tokens of s to buf and their places to spans.
//
// Most of an article is ASCII words between spaces: asciiWords takes
// those, and only the rest (apostrophes, non-ASCII runes and the last
// few bytes) goes one rune at a time.
func tokenize(buf []byte, spans []span, s string) ([]byte, []span) {
	start := -1 // where the current token starts in buf; -1 between tokens
	for i := 0; ; {
		buf, spans, i, start = asciiWords(buf, spans, s, i, start)
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf && c != '\'' && c != '`' {
			if wordBytes(uint64(c))&0x80 != 0 {
				if start < 0 {
					start = len(buf)
				}
				buf = append(buf, c|0x20) // lower-cased as in asciiWords
			} else {
				spans, start = endToken(buf, spans, start)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if isApostrophe(r) {
			i += size
			if start < 0 {
				continue
			}
			rest := s[i:]
			if len(rest) > 0 && (rest[0] == 's' || rest[0] == 'S') && !isWordStart(rest[1:]) {
				i++ // possessive 's: drop it and end the word
				spans, start = endToken(buf, spans, start)
			} else if !isWordStart(rest) {
				spans, start = endToken(buf, spans, start)
			}
			continue
		}
		i += size
		f := foldRune(r)
		if !f.word {
			if (r == zwnj || r == zwj) && start >= 0 && isWordStart(s[i:]) {
				continue // joins the word
			}
			spans, start = endToken(buf, spans, start)
			continue
		}
		if start < 0 {
			start = len(buf)
		}
		buf = append(buf, f.s...)
	}
	spans, _ = endToken(buf, spans, start)
	return buf, spans
}

// asciiWords goes on tokenising s from s[i], with a token started at
// buf[start] if start >= 0, for as long as s has ASCII letters, digits
// and separators, eight bytes at a time. It stops at an apostrophe, a
// non-ASCII byte or the last seven bytes of s, and returns where.
func asciiWords(buf []byte, spans []span, s string, i, start int) ([]byte, []span, int, int) {
	// Make room first so that the loop calls nothing (a call would make
	// the compiler keep its variables in memory): the loop copies one
	// byte for one byte of s, and stores eight bytes at a time; a token
	// takes at least two bytes of s with its separator.
	buf = slices.Grow(buf, len(s)-i+8)
	spans = slices.Grow(spans, (len(s)-i)/2+1)
	for i+8 <= len(s) {
		x := load64(s, i)
		word := wordBytes(x)
		// The number of word bytes that x starts with: 8 when the run
		// may go on past x.
		n := bits.TrailingZeros64(^word&highBits) / 8
		if n > 0 {
			if start < 0 {
				start = len(buf)
			}
			// Store all eight bytes, lower-cased, and keep n. Setting bit
			// 0x20 lower-cases A-Z and leaves a-z and 0-9, which have it
			// already, as they are; the bytes past n are overwritten
			// later or never read.
			l := len(buf)
			binary.LittleEndian.PutUint64(buf[l:l+8], x|0x2020202020202020)
			buf = buf[:l+n]
			i += n
			if n == 8 {
				continue
			}
		}
		// s[i] is not a letter or digit. Skip it and the separators after
		// it (most often the one space between two words), unless it is
		// an apostrophe or non-ASCII.
		m := bits.TrailingZeros64(^(sepBytes(x, word)>>(8*n))&highBits) / 8
		if m == 0 {
			break
		}
		if start >= 0 && len(buf) > start {
			spans = spans[:len(spans)+1] // within the room made above
			spans[len(spans)-1] = span{int32(start), int32(len(buf))}
		}
		start = -1
		i += m
	}
	return buf, spans, i, start
}

// endToken ends the token that starts at buf[start], if one has started,
// and records it unless it is empty (a lone combining mark starts a token
// that folds to nothing). It returns -1 for the new start.
func endToken(buf []byte, spans []span, start int) ([]span, int) {
	if start >= 0 && len(buf) > start {
		spans = append(spans, span{int32(start), int32(len(buf))})
	}
	return spans, -1
}

const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// load64 returns s[i:i+8] as a little-endian number (one load: the
// compiler merges the byte loads).
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// wordBytes returns x with the top bit of each byte set when that byte is
// an ASCII letter or digit, and every other bit clear.
//
// Per byte c below 0x80, c+(0x80-lo) has its top bit set when c >= lo, and
// c+(0x7f-hi) when c > hi; neither sum carries into the next byte. Letters
// are tested with bit 0x20 set, which maps A-Z onto a-z and no other
// ASCII byte onto a-z.
func wordBytes(x uint64) uint64 {
	c := x &^ highBits
	l := c | 0x20*lowBits
	letter := (l + (0x80-'a')*lowBits) &^ (l + (0x7f-'z')*lowBits)
	digit := (c + (0x80-'0')*lowBits) &^ (c + (0x7f-'9')*lowBits)
	return (letter | digit) &^ x & highBits
}

// sepBytes returns x with the top bit of each byte set when that byte ends
// a word and is neither an apostrophe nor part of a multi-byte rune: ASCII,
// not in word (x's wordBytes), not ' or `.
//
// Per byte c below 0x80, (c^v)+0x7f has its top bit set when c != v.
func sepBytes(x, word uint64) uint64 {
	c := x &^ highBits
	notQuote := (c ^ '\''*lowBits) + 0x7f*lowBits
	notBacktick := (c ^ '`'*lowBits) + 0x7f*lowBits
	return notQuote & notBacktick &^ word &^ x & highBits
}

// Tokens returns the folded tokens of s exactly as queries and articles see
// them; it is exported for callers that highlight matched words.
func Tokens(s string) []string {
	buf, spans := tokenize(nil, nil, s)
	text := string(buf)
	out := make([]string, len(spans))
	for i, sp := range spans {
		out[i] = text[sp.start:sp.end]
	}
	return out
}

// hasToken reports whether Tokens(s) would return any token, without
// building them.
func hasToken(s string) bool {
	for _, r := range s {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
				return true
			}
			continue
		}
		if f := foldRune(r); f.word && f.s != "" {
			return true
		}
	}
	return false
}

// plainWord reports a non-empty run of ASCII letters and digits: one
// token, its lower-case form.
func plainWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// vocab numbers every word seen and remembers its stem. Snowball costs
// about a microsecond a word, more than the rest of matching an article,
// and numbers let the Index find an article's words with array look-ups
// instead of string hashing. News reuses its words, so the table stays
// small; past maxVocab new words get number 0 and take a slower path.
var vocab = newVocabTable(maxVocab)

const maxVocab = 500_000

// Words are hashed once per article for both NewDoc's table of distinct
// words and vocab. A word of up to eight bytes, as most are, is hashed as
// one number (its key, below) with the 128-bit multiply that Go's own
// hash (wyhash) uses on machines without AES: an inline multiply costs
// far less than a call to maphash. Longer words go to maphash. The seeds
// are random so that nobody can choose words that collide.
var (
	wordSeed  = maphash.MakeSeed()
	wordSeed0 = rand.Uint64()
	wordSeed1 = rand.Uint64()
)

// wordKey returns the first eight bytes of w, zero-padded when w is
// shorter, as a little-endian number. Two words of up to eight bytes are
// equal when their lengths and keys are, so comparing them needs no
// look at their bytes.
func wordKey[W string | []byte](w W) uint64 {
	var x uint64
	for i := min(len(w), 8) - 1; i >= 0; i-- {
		x = x<<8 | uint64(w[i])
	}
	return x
}

// shortHash returns the hash of a word of n <= 8 bytes whose key is x.
func shortHash(x uint64, n int) uint64 {
	hi, lo := bits.Mul64(x^wordSeed0, uint64(n)^wordSeed1)
	hi, lo = bits.Mul64(hi^lo^wordSeed0, 0x9e3779b97f4a7c15)
	return hi ^ lo
}

// hashWord returns the hash of a word as NewDoc computes it.
func hashWord(w string) uint64 {
	if len(w) <= 8 {
		return shortHash(wordKey(w), len(w))
	}
	return maphash.String(wordSeed, w)
}

// vocabTable is an open-addressing hash table of words keyed by their
// hash. NewDoc has the hash and key of every word already, so a look-up
// is a probe of a small slot array and, for a word of up to eight bytes,
// a compare of numbers in the entry, where a map[string] would hash the
// word again and follow the key to its bytes: each of those is a cache
// miss in a vocabulary of hundreds of thousands of words. Words are never
// removed.
type vocabTable struct {
	sync.RWMutex
	slots   []vocabSlot       // linear probing; a power of two long, at most half full
	entries []vocabEntry      // entries[n-1] is word number n
	stems   map[string]uint32 // stem → its number
	nStems  uint32
	limit   int         // the most words it numbers
	full    atomic.Bool // set once limit is reached
}

// vocabSlot is 8 bytes, so one cache line holds 8 of them: probing past
// a neighbour rarely costs another miss, and the garbage collector need
// not scan the slots, which hold no pointers.
type vocabSlot struct {
	hash uint32 // the low 32 bits of the word's hash: its slot, and a check
	word uint32 // the word's number; 0 for a free slot
}

type vocabEntry struct {
	key          string // the word
	stem         string
	word, stemID uint32 // numbers from 1; 0 past the table's limit
	x            uint64 // wordKey(key)
}

func newVocabTable(limit int) *vocabTable {
	return &vocabTable{slots: make([]vocabSlot, 1024), stems: make(map[string]uint32), nStems: 1, limit: limit}
}

// vocabFind returns the number of word w, whose hash is h and key x, 0 if
// v does not have it. The caller holds v's lock. It is generic so that
// NewDoc can look up a word in its folding buffer without making a string
// of it.
func vocabFind[W string | []byte](v *vocabTable, h, x uint64, w W) uint32 {
	mask := uint64(len(v.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := v.slots[i]
		if s.word == 0 {
			return 0
		}
		if s.hash == uint32(h) && entryIs(&v.entries[s.word-1], x, w) {
			return s.word
		}
	}
}

// entryIs reports whether e is word w, whose key is x.
func entryIs[W string | []byte](e *vocabEntry, x uint64, w W) bool {
	return e.x == x && len(e.key) == len(w) && (len(w) <= 8 || e.key[8:] == string(w[8:]))
}

// lookup returns the stem and numbers of a folded word, adding it to the
// table if there is room.
func (v *vocabTable) lookup(w string) vocabEntry {
	h, x := hashWord(w), wordKey(w)
	v.RLock()
	var e vocabEntry
	if n := vocabFind(v, h, x, w); n != 0 {
		e = v.entries[n-1]
	}
	v.RUnlock()
	if e.word != 0 {
		return e
	}
	return v.add(w, h, true) // w may point into a whole article
}

// add stems and numbers w, whose hash is h, if the table has room. A word
// that becomes a key is copied first if copyKey is set; NewDoc has copied
// its new words already.
func (v *vocabTable) add(w string, h uint64, copyKey bool) vocabEntry {
	st := stemOf(w)
	x := wordKey(w)
	if v.full.Load() {
		return vocabEntry{key: w, stem: st, x: x} // no write lock for every new word
	}
	v.Lock()
	defer v.Unlock()
	if n := vocabFind(v, h, x, w); n != 0 {
		return v.entries[n-1]
	}
	if len(v.entries) >= v.limit {
		v.full.Store(true)
		return vocabEntry{key: w, stem: st, x: x}
	}
	key := w
	if copyKey {
		key = strings.Clone(w)
	}
	if st == w {
		st = key
	} else {
		st = strings.Clone(st)
	}
	e := vocabEntry{key: key, stem: st, word: uint32(len(v.entries) + 1), x: x}
	if id, ok := v.stems[st]; ok {
		e.stemID = id
	} else {
		e.stemID = v.nStems
		v.stems[st] = e.stemID
		v.nStems++
	}
	v.entries = append(v.entries, e)
	if 2*len(v.entries) > len(v.slots) {
		v.grow()
	}
	v.place(vocabSlot{hash: uint32(h), word: e.word})
	return e
}

// place puts s in the first free slot from its hash on.
func (v *vocabTable) place(s vocabSlot) {
	mask := uint32(len(v.slots) - 1)
	i := s.hash & mask
	for v.slots[i].word != 0 {
		i = (i + 1) & mask
	}
	v.slots[i] = s
}

// grow doubles the slots. The slots keep enough of each hash to be placed
// again without rehashing the words; the table stays far below 2³² slots.
func (v *vocabTable) grow() {
	old := v.slots
	v.slots = make([]vocabSlot, 2*len(old))
	for _, s := range old {
		if s.word != 0 {
			v.place(s)
		}
	}
}

// lookupWord returns the stem and numbers of a folded word, adding it to
// vocab if there is room.
func lookupWord(w string) vocabEntry { return vocab.lookup(w) }

// stemOf returns the Snowball stem of a folded token, by the rules of the
// language its script says: English for a word of ASCII letters, Russian
// for a word of Cyrillic ones. Snowball has no Persian: a word of Arabic
// script loses only the plural suffix ها (and های, هایی), which Persian
// writes after a ZWNJ that folding removed (تحریم‌ها → تحریمها → تحریم).
// Other words and numbers are their own stems.
//
// The script decides, not the article's language: a word is stemmed the
// same way in a query and in every article, so a query word always meets
// its own folded form, whatever language the article around it is in.
// The Latin script is English's: the held-out English cases keep their
// stems, and a French or Spanish word stemmed by the English rules still
// matches itself.
func stemOf(w string) string {
	if len(w) <= 2 {
		return w
	}
	if w[0] >= utf8.RuneSelf {
		if cyrillicWord(w) {
			return russian.Stem(nounSoftSign(w), false)
		}
		if arabicScriptWord(w) {
			return persianPlural(w)
		}
		return w
	}
	for i := 0; i < len(w); i++ {
		if c := w[i]; c < 'a' || c > 'z' {
			return w
		}
	}
	return english.Stem(w, false)
}

// nounSoftSign drops the final ь of the nouns in -русь (Беларусь, Русь)
// and гусь before stemming. Snowball reads their -сь as a reflexive verb
// ending and cuts беларусь to белар, while беларуси and беларусью stem to
// беларус: without this, a query for the country would miss it in every
// case but the one it was typed in.
func nounSoftSign(w string) string {
	if strings.HasSuffix(w, "русь") || w == "гусь" {
		return strings.TrimSuffix(w, "ь")
	}
	return w
}

// persianPlural strips the plural suffix from a folded Persian word when
// at least three letters stay: تنها (alone) and رها (free) are no
// plurals of تن and ر.
func persianPlural(w string) string {
	for _, suf := range []string{"هایی", "های", "ها"} {
		if rest, ok := strings.CutSuffix(w, suf); ok && utf8.RuneCountInString(rest) >= 3 {
			return rest
		}
	}
	return w
}

// arabicScriptWord reports a word of the Arabic block, U+0600 to U+06FF
// (two-byte runes led by 0xD8 to 0xDB).
func arabicScriptWord(w string) bool {
	if len(w)%2 != 0 {
		return false
	}
	for i := 0; i < len(w); i += 2 {
		if c := w[i]; c < 0xD8 || c > 0xDB || w[i+1] < 0x80 {
			return false
		}
	}
	return true
}

// cyrillicWord reports a folded word of the Russian alphabet's letters
// (folded, so without ё): а-я are the two-byte runes 0xD0 0xB0 to 0xD1 0x8F.
func cyrillicWord(w string) bool {
	if len(w)%2 != 0 {
		return false
	}
	for i := 0; i < len(w); i += 2 {
		switch c, d := w[i], w[i+1]; c {
		case 0xD0:
			if d < 0xB0 || d > 0xBF {
				return false
			}
		case 0xD1:
			if d < 0x80 || d > 0x8F {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// stemNumber returns the vocab number of a stem, 0 if it has none.
func stemNumber(st string) uint32 {
	vocab.RLock()
	defer vocab.RUnlock()
	return vocab.stems[st]
}

// numberStem returns the vocab number of a stem, numbered now if it has
// none and vocab has room (0 if not). A saved index read back in a new
// process has stem keys whose words this process has not seen yet: their
// stems need the numbers that those words will find them by.
func numberStem(st string) uint32 {
	if n := stemNumber(st); n != 0 || vocab.full.Load() {
		return n
	}
	vocab.Lock()
	defer vocab.Unlock()
	if n, ok := vocab.stems[st]; ok {
		return n
	}
	n := vocab.nStems
	vocab.stems[strings.Clone(st)] = n
	vocab.nStems++
	return n
}

// stem returns the stem of a folded token, through vocab.
func stem(w string) string { return lookupWord(w).stem }

// Doc is an article tokenised once for matching against any number of
// queries. It is immutable and safe for concurrent use.
//
// It holds each distinct word once, as vocab's own string (its own copy
// when vocab is full), and the article as places in that list: the Index
// needs no more, and the article's tokens as strings would be most of its
// garbage.
type Doc struct {
	host     string  // lower-case host of the article URL, "" if none
	lang     string  // the article's language (ISO 639-1), "" if unknown
	titleLen int     // tokens at[:titleLen] come from the title
	at       []int32 // at[pos] indexes uniq for the token at pos, title first, then the text

	// Per distinct word, in order of first use: the word, its stem and
	// their vocab numbers (0 when vocab is full).
	uniq    []string
	stems   []string
	wordIDs []uint32
	stemIDs []uint32

	refOnce sync.Once
	ref     *docSets
}

// docSets are the look-up tables of direct query evaluation, built only
// when a query is evaluated on its own (Query.Match), not by the Index.
type docSets struct {
	words              []string // the tokens, title first, then the text
	stemAny, stemTitle map[string]bool
	positions          map[string][]int32 // word → its positions, ascending
}

// dedup is NewDoc's reusable working memory. Its hash table finds the
// distinct words: table[h] is 1 + the place in distinct of a word whose
// hash is h (or the next free slot after it), 0 if free. Finding repeats
// here first means the shared vocabulary, which is large and behind a
// lock, is asked once per distinct word instead of once per word.
type dedup struct {
	table    []int32
	buf      []byte         // folded text
	spans    []span         // the tokens in buf
	distinct []distinctWord // in order of first use
	missed   []int32        // places in distinct of words new to vocab
	home     []vocabSlot    // per distinct word: vocab's slot for its hash
}

type distinctWord struct {
	hash, x uint64 // hash and wordKey of the word
	span           // its first token
}

var dedupPool = sync.Pool{New: func() any { return new(dedup) }}

// NewDoc tokenises an article: its title, its URL (for site:) and its text
// (summary and body). Its language is unknown: no lang: query matches it.
func NewDoc(title, rawURL, text string) *Doc { return NewDocLang(title, rawURL, text, "") }

// NewDocLang is NewDoc for an article in language lang (ISO 639-1, as
// article.Article.Lang holds it), for lang:.
func NewDocLang(title, rawURL, text, lang string) *Doc {
	d := &Doc{host: hostOf(rawURL), lang: lang}
	dd := dedupPool.Get().(*dedup)
	defer dedupPool.Put(dd)
	buf, spans := tokenize(dd.buf[:0], dd.spans[:0], title)
	d.titleLen = len(spans)
	buf, spans = tokenize(buf, spans, text)
	// Eight bytes of room past the text let each word's key be read in
	// one load.
	buf = slices.Grow(buf, 8)
	dd.buf, dd.spans = buf, spans

	size := 64
	for size < 2*len(spans) {
		size *= 2
	}
	if cap(dd.table) < size {
		dd.table = make([]int32, size)
	}
	table := dd.table[:size]
	clear(table)
	mask := uint64(size - 1)
	distinct := dd.distinct[:0]
	d.at = make([]int32, len(spans))
	for i, sp := range spans {
		n := int(sp.end - sp.start)
		x := binary.LittleEndian.Uint64(buf[sp.start : sp.start+8])
		var hw uint64
		if n <= 8 {
			x &= math.MaxUint64 >> (64 - 8*n) // the word's bytes only
			hw = shortHash(x, n)
		} else {
			hw = maphash.Bytes(wordSeed, buf[sp.start:sp.end])
		}
		for h := hw & mask; ; h = (h + 1) & mask {
			u := table[h]
			if u == 0 {
				distinct = append(distinct, distinctWord{hw, x, sp})
				table[h] = int32(len(distinct))
				d.at[i] = int32(len(distinct) - 1)
				break
			}
			f := &distinct[u-1]
			if f.hash == hw && f.x == x && f.end-f.start == sp.end-sp.start &&
				(n <= 8 || string(buf[f.start+8:f.end]) == string(buf[sp.start+8:sp.end])) {
				d.at[i] = u - 1
				break
			}
		}
	}
	dd.distinct = distinct

	n := len(distinct)
	// One allocation for the strings and one for the numbers.
	strs := make([]string, 2*n)
	d.uniq, d.stems = strs[:n:n], strs[n:]
	ids := make([]uint32, 2*n)
	d.wordIDs, d.stemIDs = ids[:n:n], ids[n:]
	missed := dd.missed[:0]
	// In a vocabulary of hundreds of thousands of words each look-up
	// misses the cache twice, for the slot and for the entry, and taken
	// one word at a time those misses are most of NewDoc's time. So first
	// every word's home slot is read, in a loop whose loads do not wait
	// on each other, and then the entries that the slots name; only the
	// few words not in their home slot are looked up one by one.
	home := slices.Grow(dd.home[:0], n)[:n]
	vocab.RLock()
	slots, slotMask := vocab.slots, uint64(len(vocab.slots)-1)
	for u := range distinct {
		home[u] = slots[distinct[u].hash&slotMask]
	}
	for u := range distinct {
		f := &distinct[u]
		w := buf[f.start:f.end]
		id := uint32(0)
		if s := home[u]; s.word != 0 {
			if s.hash == uint32(f.hash) && entryIs(&vocab.entries[s.word-1], f.x, w) {
				id = s.word
			} else {
				id = vocabFind(vocab, f.hash, f.x, w)
			}
		}
		if id == 0 {
			missed = append(missed, int32(u))
			continue
		}
		e := &vocab.entries[id-1]
		d.uniq[u], d.stems[u], d.wordIDs[u], d.stemIDs[u] = e.key, e.stem, e.word, e.stemID
	}
	vocab.RUnlock()
	dd.home = home
	dd.missed = missed
	if len(missed) == 0 {
		return d
	}

	// Stem and number new words outside the read lock. They share one
	// string: each becomes a vocab key (unless another NewDoc has just
	// added it) or, when vocab is full, stays this Doc's, so next to none
	// of it is kept for nothing.
	var b strings.Builder
	for _, u := range missed {
		f := &distinct[u]
		b.Grow(int(f.end - f.start))
	}
	for _, u := range missed {
		f := &distinct[u]
		b.Write(buf[f.start:f.end])
	}
	words := b.String()
	for _, u := range missed {
		f := &distinct[u]
		l := int(f.end - f.start)
		e := vocab.add(words[:l], f.hash, false)
		words = words[l:]
		d.uniq[u], d.stems[u], d.wordIDs[u], d.stemIDs[u] = e.key, e.stem, e.word, e.stemID
	}
	return d
}

// Words returns the article's folded tokens, title first, in a new slice.
func (d *Doc) Words() []string {
	words := make([]string, len(d.at))
	for pos, u := range d.at {
		words[pos] = d.uniq[u]
	}
	return words
}

// Lang returns the article's language, "" if unknown.
func (d *Doc) Lang() string { return d.lang }

// Host returns the lower-case host of the article's URL.
func (d *Doc) Host() string { return d.host }

func (d *Doc) sets() *docSets {
	d.refOnce.Do(func() {
		s := &docSets{
			words:     d.Words(),
			stemAny:   make(map[string]bool, len(d.uniq)),
			stemTitle: make(map[string]bool),
			positions: make(map[string][]int32, len(d.uniq)),
		}
		for pos, w := range s.words {
			st := d.stems[d.at[pos]]
			s.stemAny[st] = true
			if pos < d.titleLen {
				s.stemTitle[st] = true
			}
			s.positions[w] = append(s.positions[w], int32(pos))
		}
		d.ref = s
	})
	return d.ref
}

// hostOf returns the lower-case host of a URL, without port or final dot.
func hostOf(rawURL string) string {
	if rawURL == "" {
		return ""
	}
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return ""
	}
	return normHost(u.Hostname())
}

func normHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// onSite reports whether host is site or one of its subdomains.
func onSite(host, site string) bool {
	if host == site {
		return true
	}
	return len(host) > len(site) && strings.HasSuffix(host, site) && host[len(host)-len(site)-1] == '.'
}
