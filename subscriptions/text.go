package subscriptions

import (
	"hash/maphash"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
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
}

func foldRune(r rune) foldedRune {
	if v, ok := foldCache.Load(r); ok {
		return v.(foldedRune)
	}
	var f foldedRune
	switch {
	case unicode.Is(unicode.Mn, r):
		// A combining accent typed after its letter: drop it, stay in the word.
		f.word = true
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
func tokenize(buf []byte, spans []span, s string) ([]byte, []span) {
	start := -1 // where the current token starts in buf; -1 between tokens
	end := func() {
		if start >= 0 && len(buf) > start {
			spans = append(spans, span{int32(start), int32(len(buf))})
		}
		start = -1
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
				if start < 0 {
					start = len(buf)
				}
				buf = append(buf, c)
				i++
				continue
			case 'A' <= c && c <= 'Z':
				if start < 0 {
					start = len(buf)
				}
				buf = append(buf, c+'a'-'A')
				i++
				continue
			case c != '\'' && c != '`':
				end()
				i++
				continue
			}
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
				end()
			} else if !isWordStart(rest) {
				end()
			}
			continue
		}
		i += size
		f := foldRune(r)
		if !f.word {
			end()
			continue
		}
		if start < 0 {
			start = len(buf)
		}
		buf = append(buf, f.s...)
	}
	end()
	return buf, spans
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
var vocab = struct {
	sync.RWMutex
	words  map[string]vocabEntry
	stems  map[string]uint32 // stem → its number
	nWords uint32
	nStems uint32
}{words: make(map[string]vocabEntry), stems: make(map[string]uint32), nWords: 1, nStems: 1}

type vocabEntry struct {
	stem         string
	word, stemID uint32 // numbers from 1
}

const maxVocab = 500_000

var vocabFull atomic.Bool

// lookupWord returns the stem and numbers of a folded word, adding it to
// vocab if there is room.
func lookupWord(w string) vocabEntry {
	vocab.RLock()
	e, ok := vocab.words[w]
	vocab.RUnlock()
	if ok {
		return e
	}
	return addWord(w)
}

func addWord(w string) vocabEntry {
	st := stemOf(w)
	if vocabFull.Load() {
		return vocabEntry{stem: st} // no write lock for every new word
	}
	vocab.Lock()
	defer vocab.Unlock()
	if e, ok := vocab.words[w]; ok {
		return e
	}
	if len(vocab.words) >= maxVocab {
		vocabFull.Store(true)
		return vocabEntry{stem: st}
	}
	key := strings.Clone(w) // w may point into a whole article
	if st == w {
		st = key
	} else {
		st = strings.Clone(st)
	}
	e := vocabEntry{stem: st, word: vocab.nWords}
	vocab.nWords++
	if id, ok := vocab.stems[st]; ok {
		e.stemID = id
	} else {
		e.stemID = vocab.nStems
		vocab.stems[st] = e.stemID
		vocab.nStems++
	}
	vocab.words[key] = e
	return e
}

// stemOf returns the English Snowball stem of a folded token. Only plain
// ASCII words are stemmed: the English rules mean nothing to other scripts
// or to numbers.
func stemOf(w string) string {
	if len(w) <= 2 {
		return w
	}
	for i := 0; i < len(w); i++ {
		if c := w[i]; c < 'a' || c > 'z' {
			return w
		}
	}
	return english.Stem(w, false)
}

// stemNumber returns the vocab number of a stem, 0 if it has none.
func stemNumber(st string) uint32 {
	vocab.RLock()
	defer vocab.RUnlock()
	return vocab.stems[st]
}

// stem returns the stem of a folded token, through vocab.
func stem(w string) string { return lookupWord(w).stem }

// Doc is an article tokenised once for matching against any number of
// queries. It is immutable and safe for concurrent use.
type Doc struct {
	host     string   // lower-case host of the article URL, "" if none
	words    []string // folded tokens, title first, then the text
	titleLen int      // words[:titleLen] come from the title
	at       []int32  // at[pos] indexes uniq for words[pos]

	// Per distinct word: the word, its stem and their vocab numbers (0
	// when vocab is full).
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
	stemAny, stemTitle map[string]bool
	positions          map[string][]int32 // word → its positions, ascending
}

// dedup is NewDoc's reusable hash table for finding distinct words:
// table[h] is 1 + the place in uniq of a word whose hash is h (or the
// next free slot after it), 0 if free. Finding repeats here first means
// the shared vocabulary, which is large and behind a lock, is asked once
// per distinct word instead of once per word.
type dedup struct {
	table []int32
	buf   []byte // folded text, copied into one string for the Doc
	spans []span
}

var (
	dedupPool = sync.Pool{New: func() any { return new(dedup) }}
	dedupSeed = maphash.MakeSeed()
)

// NewDoc tokenises an article: its title, its URL (for site:) and its text
// (summary and body).
func NewDoc(title, rawURL, text string) *Doc {
	d := &Doc{host: hostOf(rawURL)}
	dd := dedupPool.Get().(*dedup)
	defer dedupPool.Put(dd)
	buf, spans := dd.buf[:0], dd.spans[:0]
	buf, spans = tokenize(buf, spans, title)
	d.titleLen = len(spans)
	buf, spans = tokenize(buf, spans, text)
	dd.buf, dd.spans = buf, spans
	all := string(buf)
	d.words = make([]string, len(spans))
	d.at = make([]int32, len(spans))
	for i, sp := range spans {
		d.words[i] = all[sp.start:sp.end]
	}
	size := 64
	for size < 2*len(d.words) {
		size *= 2
	}
	if cap(dd.table) < size {
		dd.table = make([]int32, size)
	}
	table := dd.table[:size]
	clear(table)
	mask := uint64(size - 1)
	// About half an article's words are repeats.
	d.uniq = make([]string, 0, len(d.words)/2+8)
	for i, w := range d.words {
		h := maphash.String(dedupSeed, w) & mask
		for {
			u := table[h]
			if u == 0 {
				d.uniq = append(d.uniq, w)
				table[h] = int32(len(d.uniq))
				d.at[i] = int32(len(d.uniq) - 1)
				break
			}
			if d.uniq[u-1] == w {
				d.at[i] = u - 1
				break
			}
			h = (h + 1) & mask
		}
	}

	n := len(d.uniq)
	d.stems = make([]string, n)
	ids := make([]uint32, 2*n)
	d.wordIDs, d.stemIDs = ids[:n:n], ids[n:]
	var missed []int // places in uniq of words new to vocab
	vocab.RLock()
	for u, w := range d.uniq {
		e, ok := vocab.words[w]
		if !ok {
			missed = append(missed, u)
			continue
		}
		d.stems[u], d.wordIDs[u], d.stemIDs[u] = e.stem, e.word, e.stemID
	}
	vocab.RUnlock()
	// Stem and number new words outside the read lock.
	for _, u := range missed {
		e := addWord(d.uniq[u])
		d.stems[u], d.wordIDs[u], d.stemIDs[u] = e.stem, e.word, e.stemID
	}
	return d
}

// Words returns the article's folded tokens, title first.
func (d *Doc) Words() []string { return d.words }

// Host returns the lower-case host of the article's URL.
func (d *Doc) Host() string { return d.host }

func (d *Doc) sets() *docSets {
	d.refOnce.Do(func() {
		s := &docSets{
			stemAny:   make(map[string]bool, len(d.uniq)),
			stemTitle: make(map[string]bool),
			positions: make(map[string][]int32, len(d.uniq)),
		}
		for pos, w := range d.words {
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
