package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode"

	"github.com/kljensen/snowball/english"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/subscriptions"
)

// BenchmarkMatchOutput measures `herald match` past reading its files: an
// article decoded, matched against 1,000,000 queries and its lines written
// (to a writer that only counts them: the formatting is measured, not a
// pipe). "before" is the
// way it wrote them until now (ids sorted, one json.Encoder call a line),
// "lines" the way it writes them now, "count" --count. Rates are per CPU
// second of this process, as the machine is shared, and per wall second:
//
//	HERALD_BENCH_ROUNDS=3 go test ./cmd/herald/ -run '^$' -bench MatchOutput -benchtime 20x
//
// Beside them, "regexp" runs the same articles through one regexp per
// query over the first 10,000 queries (benchBaseline).
//
// HERALD_BENCH_ROUNDS=3 runs the three in turn three times, so that
// before and after are measured interleaved (-count would repeat each
// before the next). HERALD_BENCH_QUERIES changes the number of queries.
func BenchmarkMatchOutput(b *testing.B) {
	bm := loadMatchBench(b)
	rounds := 1
	if n, err := strconv.Atoi(os.Getenv("HERALD_BENCH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	for round := 1; round <= rounds; round++ {
		for _, c := range matchRuns {
			b.Run(fmt.Sprintf("%s/queries=%d/round=%d", c.name, bm.queries, round), func(b *testing.B) { benchMatchRun(b, bm, c.run) })
		}
		b.Run(fmt.Sprintf("regexp/queries=%d/round=%d", len(bm.baseline), round), func(b *testing.B) { benchBaseline(b, bm) })
	}
}

// benchBaseline runs the same articles through the baseline of one
// regexp check per query, the way simple feed bots filter, over the first
// 10,000 queries of the index: --count at a million queries is to match
// at least 1,000 times its articles/cpu-s.
func benchBaseline(b *testing.B, bm *matchBench) {
	arts := make([]matchArticle, len(bm.articles))
	for i, line := range bm.articles {
		if err := json.Unmarshal(line, &arts[i]); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	b.ResetTimer()
	// A second or more a article: four articles whatever b.N is, so
	// ns/op means nothing here, the rates do.
	n := min(b.N, 4)
	cpu0 := processCPU()
	hits := 0
	for i := range n {
		a := &arts[i%len(arts)]
		for _, q := range bm.baseline {
			if q(a.Title, a.Text) {
				hits++
			}
		}
	}
	cpu := processCPU() - cpu0
	wall := b.Elapsed()
	b.StopTimer()
	b.ReportMetric(float64(n)/cpu.Seconds(), "articles/cpu-s")
	b.ReportMetric(float64(n)/wall.Seconds(), "articles/s")
	b.ReportMetric(float64(hits)/float64(n), "lines/article")
}

// regexpQuery is a query of the benchmark's four shapes (a word, two
// words, a quoted phrase, an OR of two words) as regexps: a word matches
// as a case-insensitive word prefix (standing in for stemming), a phrase
// as its words with spaces between, in the title or the text.
func regexpQuery(text string) func(title, body string) bool {
	var branches [][]*regexp.Regexp
	for _, branch := range strings.Split(text, " OR ") {
		var all []*regexp.Regexp
		if p, ok := strings.CutPrefix(branch, `"`); ok {
			words := strings.Fields(strings.TrimSuffix(p, `"`))
			for i, w := range words {
				words[i] = regexp.QuoteMeta(w)
			}
			all = append(all, regexp.MustCompile(`(?i)\b`+strings.Join(words, `\s+`)))
		} else {
			for _, w := range strings.Fields(branch) {
				all = append(all, regexp.MustCompile(`(?i)\b`+regexp.QuoteMeta(w)))
			}
		}
		branches = append(branches, all)
	}
	return func(title, body string) bool {
	branch:
		for _, all := range branches {
			for _, re := range all {
				if !re.MatchString(title) && !re.MatchString(body) {
					continue branch
				}
			}
			return true
		}
		return false
	}
}

// matchRuns are the ways of writing `herald match`'s output measured.
var matchRuns = []struct {
	name string
	run  func(context.Context, *subscriptions.Index, io.Reader, io.Writer) error
}{
	{"before", matchBefore},
	{"lines", func(ctx context.Context, ix *subscriptions.Index, in io.Reader, out io.Writer) error {
		return matchArticles(ctx, ix, in, out, false)
	}},
	{"count", func(ctx context.Context, ix *subscriptions.Index, in io.Reader, out io.Writer) error {
		return matchArticles(ctx, ix, in, out, true)
	}},
}

func benchMatchRun(b *testing.B, bm *matchBench, run func(context.Context, *subscriptions.Index, io.Reader, io.Writer) error) {
	var in bytes.Buffer
	for i := range b.N {
		in.Write(bm.articles[i%len(bm.articles)])
	}
	lines := &lineCounter{}
	// The garbage of building the index is not matching's cost.
	runtime.GC()
	b.ResetTimer()
	cpu0 := processCPU()
	if err := run(context.Background(), bm.ix, &in, lines); err != nil {
		b.Fatal(err)
	}
	cpu := processCPU() - cpu0
	wall := b.Elapsed()
	b.StopTimer()
	b.ReportMetric(float64(lines.n)/cpu.Seconds(), "lines/cpu-s")
	b.ReportMetric(float64(lines.n)/wall.Seconds(), "lines/s")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "articles/cpu-s")
	b.ReportMetric(float64(b.N)/wall.Seconds(), "articles/s")
	b.ReportMetric(float64(lines.n)/float64(b.N), "lines/article")
}

// matchBefore is how `herald match` wrote its lines before: every id of
// an article collected, sorted and encoded by json.Encoder. It stays here
// to measure the change against, interleaved.
func matchBefore(ctx context.Context, ix *subscriptions.Index, in io.Reader, out io.Writer) error {
	type matchOutput struct {
		Article string `json:"article"`
		Query   string `json:"query"`
	}
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	dec := json.NewDecoder(bufio.NewReader(in))
	for {
		var a matchArticle
		if err := dec.Decode(&a); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
		art := article.Article{ID: a.ID, URL: a.URL, Title: a.Title, Text: a.Text}
		ids := ix.Match(subscriptions.NewDoc(art.Title, art.URL, articles.MatchText(&art)))
		slices.Sort(ids)
		for _, id := range ids {
			if err := enc.Encode(matchOutput{Article: a.ID, Query: id}); err != nil {
				return err
			}
		}
	}
	return w.Flush()
}

// lineCounter is an io.Writer that keeps nothing and counts lines.
type lineCounter struct{ n int }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.n += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type matchBench struct {
	queries  int
	baseline []func(title, body string) bool // the first 10,000 queries as regexps
	ix       *subscriptions.Index
	articles [][]byte // JSON lines, ~800 words each
}

var (
	matchBenchOnce sync.Once
	matchBenchSet  *matchBench
	matchBenchErr  error
)

// loadMatchBench builds, once per test binary, the articles (the shared
// corpus's texts cut into ~800-word pieces) and an index of queries drawn
// from the same text the way subscriptions' benchmarks draw them: words
// weighted by their frequency, without stop words, numbers and words in
// more than a fifth of the articles; 60% one word, 25% two, 10% a phrase,
// 5% an OR.
func loadMatchBench(b *testing.B) *matchBench {
	matchBenchOnce.Do(func() { matchBenchSet, matchBenchErr = buildMatchBench(b) })
	if matchBenchErr != nil {
		b.Skip(matchBenchErr)
	}
	return matchBenchSet
}

func buildMatchBench(b *testing.B) (*matchBench, error) {
	// The shared material lives beside the module, as for subscriptions'
	// benchmarks; nothing of it is in the repository.
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "corpora", "extraction", "ground-truth.json"))
	if err != nil {
		return nil, fmt.Errorf("shared corpus not available: %w", err)
	}
	var gt map[string]struct {
		ArticleBody string `json:"articleBody"`
		URL         string `json:"url"`
	}
	if err := json.Unmarshal(raw, &gt); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(gt))
	for k := range gt {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bm := &matchBench{queries: 1_000_000}
	if n, err := strconv.Atoi(os.Getenv("HERALD_BENCH_QUERIES")); err == nil && n > 0 {
		bm.queries = n
	}
	var words, tokens []string
	var docs []map[string]bool // the words of each article
	for i, k := range keys {
		words = append(words, strings.Fields(gt[k].ArticleBody)...)
		if len(words) < 800 && i < len(keys)-1 {
			continue
		}
		words = words[:min(len(words), 800)]
		text := strings.Join(words, " ")
		title := strings.Join(words[:min(12, len(words))], " ")
		line, _ := json.Marshal(matchArticle{ID: fmt.Sprintf("a%d", len(bm.articles)), URL: gt[k].URL, Title: title, Text: text})
		bm.articles = append(bm.articles, append(line, '\n'))
		seen := map[string]bool{}
		for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) }) {
			tokens = append(tokens, w)
			seen[w] = true
		}
		docs = append(docs, seen)
		words = nil
	}
	share := map[string]int{}
	for _, d := range docs {
		for w := range d {
			share[w]++
		}
	}
	fit := func(w string) bool {
		return len(w) >= 3 && !english.IsStopWord(w) && share[w]*5 <= len(docs)
	}
	var content []int // positions in tokens of words fit for a query
	for i, w := range tokens {
		if fit(w) {
			content = append(content, i)
		}
	}
	if len(content) == 0 {
		return nil, errors.New("no query words in the corpus")
	}
	r := rand.New(rand.NewPCG(1, 7))
	word := func() string { return tokens[content[r.IntN(len(content))]] }
	phrase := func() string {
		for {
			p := content[r.IntN(len(content))]
			if p+1 < len(tokens) && fit(tokens[p+1]) {
				return `"` + tokens[p] + " " + tokens[p+1] + `"`
			}
		}
	}
	// HERALD_BENCH_DUMP=DIR also writes the queries and articles there,
	// for measuring the herald binary from outside on the same input.
	var dump *bufio.Writer
	if dir := os.Getenv("HERALD_BENCH_DUMP"); dir != "" {
		var arts []byte
		for i := range 200 {
			arts = append(arts, bm.articles[i%len(bm.articles)]...)
		}
		if err := os.WriteFile(filepath.Join(dir, "articles.jsonl"), arts, 0o644); err != nil {
			return nil, err
		}
		f, err := os.Create(filepath.Join(dir, "queries.tsv"))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		dump = bufio.NewWriter(f)
		defer dump.Flush()
	}
	started := time.Now()
	bm.ix = subscriptions.NewIndex(nil)
	for i := range bm.queries {
		var text string
		switch k := r.IntN(100); {
		case k < 60:
			text = word()
		case k < 85:
			text = word() + " " + word()
		case k < 95:
			text = phrase()
		default:
			text = word() + " OR " + word()
		}
		q, err := subscriptions.Parse(text)
		if err != nil {
			continue // a word the parser refuses (too long, say)
		}
		bm.ix.Add("u"+strconv.Itoa(i), q)
		if len(bm.baseline) < 10_000 {
			bm.baseline = append(bm.baseline, regexpQuery(text))
		}
		if dump != nil {
			fmt.Fprintf(dump, "u%d\t%s\n", i, text)
		}
	}
	b.Logf("match benchmark: %d articles, %d queries indexed in %s", len(bm.articles), bm.ix.Len(), time.Since(started).Round(time.Millisecond))
	return bm, nil
}
