package summary

import (
	"strings"
	"unicode"
)

// ROUGE (Lin 2004) as F1 over lower-cased word tokens: ROUGE-N counts the
// clipped n-gram overlap, ROUGE-L the longest common subsequence of the two
// token sequences. No stemming and no stop-word removal, so the figures are
// comparable with the usual LEAD-3 numbers.

type rougeScores struct{ r1, r2, rl float64 }

func (a rougeScores) add(b rougeScores) rougeScores {
	return rougeScores{a.r1 + b.r1, a.r2 + b.r2, a.rl + b.rl}
}

func (a rougeScores) scale(f float64) rougeScores {
	return rougeScores{a.r1 * f, a.r2 * f, a.rl * f}
}

func rougeTokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

func rouge(candidate, reference string) rougeScores {
	c, r := rougeTokens(candidate), rougeTokens(reference)
	return rougeScores{rougeN(c, r, 1), rougeN(c, r, 2), rougeL(c, r)}
}

func f1(overlap, nc, nr int) float64 {
	if overlap == 0 || nc == 0 || nr == 0 {
		return 0
	}
	p, r := float64(overlap)/float64(nc), float64(overlap)/float64(nr)
	return 2 * p * r / (p + r)
}

func ngrams(ts []string, n int) map[string]int {
	m := map[string]int{}
	for i := 0; i+n <= len(ts); i++ {
		m[strings.Join(ts[i:i+n], " ")]++
	}
	return m
}

func rougeN(c, r []string, n int) float64 {
	cg, rg := ngrams(c, n), ngrams(r, n)
	overlap, nc, nr := 0, 0, 0
	for g, k := range cg {
		nc += k
		overlap += min(k, rg[g])
	}
	for _, k := range rg {
		nr += k
	}
	return f1(overlap, nc, nr)
}

func rougeL(c, r []string) float64 {
	prev := make([]int, len(r)+1)
	cur := make([]int, len(r)+1)
	for i := range c {
		for j := range r {
			if c[i] == r[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(cur[j], prev[j+1])
			}
		}
		prev, cur = cur, prev
	}
	return f1(prev[len(r)], len(c), len(r))
}
