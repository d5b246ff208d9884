package summary

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
	"github.com/kljensen/snowball/russian"
	"golang.org/x/text/unicode/norm"
)

// words returns the lower-cased, accent-folded word tokens of s: runs of
// letters and digits, with an inner apostrophe or hyphen kept ("o'brien",
// "russia-ukraine") and a trailing possessive dropped ("belarus’" and
// "iran's" become "belarus" and "iran"). Arabic-script words are folded as
// subscriptions folds them, so that a topic's terms, which come folded
// from there, are found: tatweel dropped, a zero-width non-joiner or
// joiner inside a word joining it (می‌خواهم), the Arabic-keyboard letter
// variants read as Persian's, Arabic-Indic and Persian digits as ASCII.
func words(s string) []string {
	var out []string
	buf := make([]byte, 0, 32)
	flush := func() {
		if len(buf) == 0 {
			return
		}
		w := strings.TrimRight(string(buf), "'-")
		buf = buf[:0]
		w = strings.TrimSuffix(w, "'s")
		if w != "" {
			out = append(out, w)
		}
	}
	for i, r := range s {
		switch {
		case r < utf8.RuneSelf && ('a' <= r && r <= 'z' || '0' <= r && r <= '9'):
			buf = append(buf, byte(r))
		case r < utf8.RuneSelf && 'A' <= r && r <= 'Z':
			buf = append(buf, byte(r+'a'-'A'))
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			buf = foldRune(buf, r)
		case unicode.IsMark(r) || r == 'ـ':
			// combining accents and harakat, tatweel: dropped by folding
		case (r == '\u200c' || r == '\u200d') && len(buf) > 0:
			nr, _ := utf8.DecodeRuneInString(s[i+utf8.RuneLen(r):])
			if !unicode.IsLetter(nr) && !unicode.IsDigit(nr) {
				flush()
			}
		case (r == '\'' || r == '’' || r == '-' || r == '‐') && len(buf) > 0:
			nr, _ := utf8.DecodeRuneInString(s[i+utf8.RuneLen(r):])
			if unicode.IsLetter(nr) || unicode.IsDigit(nr) {
				if r == '-' || r == '‐' {
					buf = append(buf, '-')
				} else {
					buf = append(buf, '\'')
				}
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

// foldRune appends r lower-cased to buf, with the accents of Latin letters
// stripped ("Lukašenka" and "lukasenka" are one word). Cyrillic keeps its
// marks: й is not и.
func foldRune(buf []byte, r rune) []byte {
	r = unicode.ToLower(r)
	switch {
	case r == 'ي' || r == 'ى':
		r = 'ی'
	case r == 'ك':
		r = 'ک'
	case r == 'ۀ':
		r = 'ه'
	case '٠' <= r && r <= '٩':
		r = '0' + r - '٠'
	case '۰' <= r && r <= '۹':
		r = '0' + r - '۰'
	}
	if r < 0xC0 || r >= 0x250 {
		return utf8.AppendRune(buf, r)
	}
	switch r {
	case 'ß':
		return append(buf, "ss"...)
	case 'æ':
		return append(buf, "ae"...)
	case 'œ':
		return append(buf, "oe"...)
	case 'ø':
		return append(buf, 'o')
	case 'đ', 'ð':
		return append(buf, 'd')
	case 'ł':
		return append(buf, 'l')
	case 'þ':
		return append(buf, "th"...)
	}
	d := norm.NFD.String(string(r))
	base, _ := utf8.DecodeRuneInString(d)
	return utf8.AppendRune(buf, base)
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

// stemmer stems words with a per-text memo in front of a process-wide one:
// news repeats its names and terms within an article and across articles,
// and Snowball is the costliest step of ranking.
type stemmer map[string]string

// stemCache holds stems for every process-wide word up to stemCacheMax
// entries (a few MiB); news vocabulary is Zipfian, so the first hundred
// thousand words seen cover almost all later ones.
var (
	stemCache     sync.Map
	stemCacheSize atomic.Int64
)

const stemCacheMax = 100_000

func (m stemmer) stem(w string) string {
	if s, ok := m[w]; ok {
		return s
	}
	if s, ok := stemCache.Load(w); ok {
		m[w] = s.(string)
		return s.(string)
	}
	s := w
	switch {
	case isCyrillic(w):
		// Snowball reads the -сь of Беларусь and Русь as a reflexive
		// ending (subscriptions stems them the same way).
		if strings.HasSuffix(w, "русь") {
			s = russian.Stem(strings.TrimSuffix(w, "ь"), true)
		} else {
			s = russian.Stem(w, true)
		}
	case isASCIIWord(w):
		s = english.Stem(w, true)
	case isArabicScript(w):
		s = persianPlural(w)
	}
	m[w] = s
	if stemCacheSize.Load() < stemCacheMax {
		stemCacheSize.Add(1)
		stemCache.Store(w, s)
	}
	return s
}

// persianPlural strips Persian's plural suffix, as subscriptions stems it:
// ها, های or هایی, when three letters or more stay.
func persianPlural(w string) string {
	for _, suf := range []string{"هایی", "های", "ها"} {
		if rest, ok := strings.CutSuffix(w, suf); ok && utf8.RuneCountInString(rest) >= 3 {
			return rest
		}
	}
	return w
}

func isArabicScript(w string) bool {
	for _, r := range w {
		if r < 0x600 || r > 0x6FF {
			return false
		}
	}
	return w != ""
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
