package extract

import (
	"strings"
	"unicode"
)

// The choice between the two extractors, measured on the extraction
// benchmark (score_test.go; per-page numbers from EXTRACT_DUMP):
//
// go-trafilatura, asked to favour precision, rarely keeps boilerplate but
// now and then keeps the wrong block or only part of the article;
// go-readability nearly always finds the whole article but often drags in
// captions, "related" lists and sign-up lines around it. When they disagree,
// the text they share is the article, and what only one of them has is
// either article (readability's recall) or boilerplate (anyone's noise).
//
// The rule: take trafilatura's text when at least containmentMin of its
// word 4-shingles also occur in readability's text (it is a confirmed,
// cleaner cut of the same article) and it is not much shorter than
// readability's (it did not stop at the teaser); otherwise take readability's.
// On the 91-page development set the threshold is flat between 0.95 and
// 0.97 (F1 0.975-0.976, against 0.957 trafilatura alone and 0.962
// readability alone; choosing the better text per page by hindsight gives
// 0.980), so the rule is not tuned to a knife edge.
const (
	containmentMin = 0.96
	minLengthRatio = 0.5 // a guard, not a tuned figure: no page here needs it
)

// choose picks between trafilatura's text t and readability's r.
func choose(t, r string) string {
	if r == "" {
		return t
	}
	if t == "" {
		return r
	}
	ts, rs := wordShingles(t), wordShingles(r)
	nt, nr := total(ts), total(rs)
	if nt == 0 {
		return r
	}
	shared := 0
	for k, c := range ts {
		shared += min(c, rs[k])
	}
	if float64(shared) >= containmentMin*float64(nt) && float64(nt) >= minLengthRatio*float64(nr) {
		return t
	}
	return r
}

// wordShingles counts the 4-word shingles of s (lower-cased runs of letters
// and digits); a text of fewer than four words is one shingle.
func wordShingles(s string) map[string]int {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.Is(unicode.Mn, r) && r != '_'
	})
	const n = 4
	out := make(map[string]int, len(words))
	for i := 0; i < max(1, len(words)-n+1); i++ {
		if sh := words[i:min(i+n, len(words))]; len(sh) > 0 {
			out[strings.Join(sh, " ")]++
		}
	}
	return out
}

func total(m map[string]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}
