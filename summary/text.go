package summary

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
	"github.com/kljensen/snowball/russian"

	"github.com/herald-news/herald/subscriptions"
)

// words returns the folded word tokens of s exactly as subscriptions
// tokenises queries and articles (subscriptions.Tokens): lower-cased,
// accents folded, ё read as е, apostrophes dropped and a trailing
// possessive with them, hyphenated words split, Arabic-script letters
// unified. A topic's terms come folded from there, so the summary finds
// them wherever the matcher did.
func words(s string) []string { return subscriptions.Tokens(s) }

// extraStop are words frequent in news that carry no topic: reporting verbs
// and time words. They sit on top of the Snowball stop lists.
var extraStop = set(
	"said", "says", "say", "told", "tell", "according", "also", "would", "could", "will", "may",
	"might", "must", "one", "two", "new", "last", "year", "years", "week", "day", "time", "just",
	"like", "get", "got", "many", "much", "even", "still", "well", "back", "since", "monday",
	"tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "mr", "mrs", "ms",
	"cnn", "can", "dont", "theres", "thats",
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
