package extract

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode"
)

// The extraction benchmark: pages and their human-checked main text. It
// lives in the shared corpora beside the project, never inside it.
const benchDir = "../../shared/corpora/extraction"

type benchPage struct {
	id, url, truth string
	html           []byte
}

func loadBench(tb testing.TB) []benchPage {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(benchDir, "ground-truth.json"))
	if err != nil {
		tb.Skipf("extraction corpus not available (%v): it is shared beside the project, not part of it", err)
	}
	var truth map[string]struct {
		ArticleBody string `json:"articleBody"`
		URL         string `json:"url"`
	}
	if err := json.Unmarshal(raw, &truth); err != nil {
		tb.Fatalf("ground truth: %v", err)
	}
	ids := make([]string, 0, len(truth))
	for id := range truth {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var pages []benchPage
	for _, id := range ids {
		f, err := os.Open(filepath.Join(benchDir, "html", id+".html.gz"))
		if err != nil {
			continue // the corpus holds half of the benchmark's pages
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			tb.Fatalf("%s: %v", id, err)
		}
		b, err := io.ReadAll(zr)
		f.Close()
		if err != nil {
			tb.Fatalf("%s: %v", id, err)
		}
		pages = append(pages, benchPage{id: id, url: truth[id].URL, truth: truth[id].ArticleBody, html: b})
	}
	if len(pages) == 0 {
		tb.Skip("extraction corpus has no pages")
	}
	return pages
}

// tokens splits text the way the benchmark's \w+ does (Python, Unicode):
// runs of letters, digits, marks and underscores; case is kept.
func tokens(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsNumber(r) || unicode.Is(unicode.Mn, r) || r == '_')
	})
}

// shingles counts 4-token shingles; a text shorter than that is one shingle.
func shingles(s string) map[string]int {
	toks := tokens(s)
	out := map[string]int{}
	const n = 4
	for i := 0; i < max(1, len(toks)-n+1); i++ {
		sh := toks[i:min(i+n, len(toks))]
		if len(sh) > 0 {
			out[strings.Join(sh, "\x00")]++
		}
	}
	return out
}

// pageScore is tp, fp, fn normalised by their sum.
type pageScore struct{ tp, fp, fn float64 }

func score(truth, pred string) pageScore {
	ts, ps := shingles(truth), shingles(pred)
	var s pageScore
	for k, tc := range ts {
		pc := ps[k]
		s.tp += float64(min(tc, pc))
		s.fn += float64(max(0, tc-pc))
	}
	for k, pc := range ps {
		s.fp += float64(max(0, pc-ts[k]))
	}
	if sum := s.tp + s.fp + s.fn; sum > 0 {
		s.tp, s.fp, s.fn = s.tp/sum, s.fp/sum, s.fn/sum
	}
	return s
}

func (s pageScore) precision() float64 {
	switch {
	case s.fp == 0 && s.fn == 0:
		return 1
	case s.tp == 0 && s.fp == 0:
		return 0
	}
	return s.tp / (s.tp + s.fp)
}

func (s pageScore) recall() float64 {
	switch {
	case s.fp == 0 && s.fn == 0:
		return 1
	case s.tp == 0 && s.fn == 0:
		return 0
	}
	return s.tp / (s.tp + s.fn)
}

// metrics are the benchmark's figures: precision and recall are means over
// pages, F1 is computed from the two means.
type metrics struct{ f1, precision, recall float64 }

func summarize(scores []pageScore) metrics {
	var p, r float64
	var np, nr int
	for _, s := range scores {
		if s.tp+s.fp > 0 {
			p += s.precision()
			np++
		}
		if s.tp+s.fn > 0 {
			r += s.recall()
			nr++
		}
	}
	var m metrics
	if np > 0 {
		m.precision = p / float64(np)
	}
	if nr > 0 {
		m.recall = r / float64(nr)
	}
	if m.precision+m.recall > 0 {
		m.f1 = 2 * m.precision * m.recall / (m.precision + m.recall)
	}
	return m
}

func TestScoreSanity(t *testing.T) {
	if s := score("a b c d e", "a b c d e"); s.precision() != 1 || s.recall() != 1 {
		t.Errorf("identical texts: %+v", s)
	}
	if s := score("a b c d e", ""); s.recall() != 0 {
		t.Errorf("empty prediction: %+v", s)
	}
	// "a b c d" is one of two truth shingles: recall 1/2, precision 1.
	if s := score("a b c d e", "a b c d"); s.precision() != 1 || s.recall() != 0.5 {
		t.Errorf("half: %+v p=%v r=%v", s, s.precision(), s.recall())
	}
	_ = bytes.MinRead
}
