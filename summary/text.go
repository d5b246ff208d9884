package summary

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
	"github.com/kljensen/snowball/russian"
	"golang.org/x/text/unicode/norm"
)

// words returns the lower-cased, accent-folded word tokens of s: runs of
// letters and digits, with an inner apostrophe or hyphen kept ("o'brien",
// "russia-ukraine") and a trailing possessive dropped ("belarus’" and
// "iran's" become "belarus" and "iran").
func words(s string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		if b.Len() == 0 {
			return
		}
		w := b.String()
		b.Reset()
		w = strings.TrimRight(w, "'-")
		w = strings.TrimSuffix(w, "'s")
		if w != "" {
			out = append(out, w)
		}
	}
	for i, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteString(foldRune(r))
		case unicode.IsMark(r):
			// combining accents: dropped by folding
		case (r == '\'' || r == '’' || r == '-' || r == '‐') && b.Len() > 0:
			nr, _ := utf8.DecodeRuneInString(s[i+utf8.RuneLen(r):])
			if unicode.IsLetter(nr) || unicode.IsDigit(nr) {
				if r == '’' {
					r = '\''
				}
				if r == '‐' {
					r = '-'
				}
				b.WriteRune(r)
			} else {
				flush()
			}
		default:
			flush()
		}
	}
	flush()
	return out
}

// foldRune lower-cases r and strips the accents of Latin letters
// ("Lukašenka" and "lukasenka" are one word). Cyrillic keeps its marks: й is
// not и.
func foldRune(r rune) string {
	r = unicode.ToLower(r)
	if r < 0xC0 || r >= 0x250 {
		return string(r)
	}
	switch r {
	case 'ß':
		return "ss"
	case 'æ':
		return "ae"
	case 'œ':
		return "oe"
	case 'ø':
		return "o"
	case 'đ', 'ð':
		return "d"
	case 'ł':
		return "l"
	case 'þ':
		return "th"
	}
	d := norm.NFD.String(string(r))
	base, _ := utf8.DecodeRuneInString(d)
	return string(base)
}

// extraStop are words frequent in news that carry no topic: reporting verbs
// and time words. They sit on top of the Snowball stop lists.
var extraStop = set(
	"said", "says", "say", "told", "tell", "according", "also", "would", "could", "will", "may",
	"might", "must", "one", "two", "new", "last", "year", "years", "week", "day", "time", "just",
	"like", "get", "got", "many", "much", "even", "still", "well", "back", "since", "monday",
	"tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "mr", "mrs", "ms",
	"cnn", "can", "it's", "don't", "there's", "that's",
	"заявил", "сказал", "также", "может", "году", "года", "год",
)

func isStop(w string) bool {
	if extraStop[w] {
		return true
	}
	if isCyrillic(w) {
		return russian.IsStopWord(w)
	}
	return english.IsStopWord(w)
}

func isCyrillic(w string) bool {
	for _, r := range w {
		if unicode.Is(unicode.Cyrillic, r) {
			return true
		}
		if unicode.IsLetter(r) {
			return false
		}
	}
	return false
}

// stemmer stems words with a per-text memo: news repeats its names and
// terms, and Snowball is the costliest step of ranking.
type stemmer map[string]string

func (m stemmer) stem(w string) string {
	if s, ok := m[w]; ok {
		return s
	}
	s := w
	switch {
	case isCyrillic(w):
		s = russian.Stem(w, true)
	case isASCIIWord(w):
		s = english.Stem(w, true)
	}
	m[w] = s
	return s
}

func isASCIIWord(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] >= 0x80 {
			return false
		}
	}
	return true
}

// terms returns the stemmed content words of s: stop words and one-letter
// tokens removed.
func (m stemmer) terms(s string) []string {
	ws := words(s)
	out := ws[:0]
	for _, w := range ws {
		if utf8.RuneCountInString(w) < 2 || isStop(w) {
			continue
		}
		out = append(out, m.stem(w))
	}
	return out
}

// allStems returns every word of s stemmed, stop words included, for
// matching topic phrases word by word.
func (m stemmer) allStems(s string) []string {
	ws := words(s)
	for i, w := range ws {
		ws[i] = m.stem(w)
	}
	return ws
}
