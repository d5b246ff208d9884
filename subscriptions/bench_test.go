package subscriptions

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kljensen/snowball/english"
)

// The benchmark's subscriptions imitate real ones: their terms are drawn by
// frequency from real news text (the shared corpora), stop words and
// numbers and words in most articles left out; about 60% are one word, 25% two words, 10% a quoted
// phrase of two or three consecutive words, 5% an OR or an exclusion.
// Articles are the corpus texts cut and joined into pieces of 800 words.

type benchData struct {
	articles []article // ~800-word articles
	freq     *Frequencies
	tokens   []string // every folded token of the corpus, in order
	content  []int    // positions in tokens of words fit for a query
}

var (
	benchOnce sync.Once
	benchSet  *benchData
)

func loadBench(b *testing.B) *benchData {
	arts := loadCorpus(b)
	benchOnce.Do(func() {
		bd := &benchData{freq: NewFrequencies()}
		var words []string
		start := 0
		for i, a := range arts {
			d := NewDoc(a.title, a.url, a.text)
			bd.freq.Add(d)
			bd.tokens = append(bd.tokens, d.Words()...)
			words = append(words, strings.Fields(a.text)...)
			if len(words) >= 800 || i == len(arts)-1 {
				if len(words) > 800 {
					words = words[:800]
				}
				bd.articles = append(bd.articles, article{
					title: arts[start].title, url: arts[start].url, text: strings.Join(words, " "),
				})
				words, start = nil, i+1
			}
		}
		for i, w := range bd.tokens {
			if queryWord(w) && bd.freq.share(stem(w)) <= maxTopicShare {
				bd.content = append(bd.content, i)
			}
		}
		benchSet = bd
	})
	return benchSet
}

// maxTopicShare leaves out of queries the words found in more than this
// share of the corpus articles ("said", "people", "year"): nobody follows
// them as a topic, and a set where one subscription in ten matches every
// article measures alert delivery, not matching.
const maxTopicShare = 0.2

// queryWord reports words a person might subscribe to.
func queryWord(w string) bool {
	if len(w) < 3 || english.IsStopWord(w) {
		return false
	}
	_, err := strconv.Atoi(w)
	return err != nil
}

// queries returns n realistic query texts.
func (bd *benchData) queries(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 7))
	word := func() string { return bd.tokens[bd.content[r.IntN(len(bd.content))]] }
	phrase := func() string {
		for {
			p := bd.content[r.IntN(len(bd.content))]
			n := 2 + r.IntN(2)
			if p+n > len(bd.tokens) || !queryWord(bd.tokens[p+n-1]) || bd.freq.share(stem(bd.tokens[p+n-1])) > maxTopicShare {
				continue
			}
			return `"` + strings.Join(bd.tokens[p:p+n], " ") + `"`
		}
	}
	out := make([]string, n)
	for i := range out {
		switch k := r.IntN(100); {
		case k < 60:
			out[i] = word()
		case k < 85:
			out[i] = word() + " " + word()
		case k < 95:
			out[i] = phrase()
		case k < 98:
			out[i] = word() + " OR " + word()
		default:
			out[i] = word() + " -" + word()
		}
	}
	return out
}

type builtIndex struct {
	n          int
	ix         *Index
	texts      []string
	buildTime  time.Duration
	buildCPU   time.Duration
	heapPerQry float64
}

var built *builtIndex // the last index built, reused across b.N rounds

func buildIndex(b *testing.B, bd *benchData, n int) *builtIndex {
	if built != nil && built.n == n {
		return built
	}
	built = nil
	texts := bd.queries(n, 1)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start, cpu0 := time.Now(), cpuTime()
	ix := NewIndex(bd.freq)
	for i, s := range texts {
		q, err := Parse(s)
		if err != nil {
			b.Fatalf("Parse(%q): %v", s, err)
		}
		ix.Add("u"+strconv.Itoa(i), q)
	}
	el, cpu := time.Since(start), cpuTime()-cpu0
	runtime.GC()
	runtime.ReadMemStats(&after)
	built = &builtIndex{
		n: n, ix: ix, texts: texts, buildTime: el, buildCPU: cpu,
		heapPerQry: float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n),
	}
	return built
}

// BenchmarkMatch reports, at each index size: articles/s through the index
// (tokenising each article included), heap bytes per subscription, the
// time to parse and index them all, and the same articles through the
// baseline of one compiled regexp check per query (measured on a sample
// of queries and scaled to the full count), with the speedup.
//
//	go test ./subscriptions/ -run '^$' -bench Match -benchtime 400x
func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("queries=%d", n), func(b *testing.B) {
			bd := loadBench(b)
			bi := buildIndex(b, bd, n)
			matches, matchedQueries := 0, 0
			count := func(ids IDs) bool {
				matches += ids.Len()
				matchedQueries++
				return true
			}
			// The garbage of building the index is not matching's cost.
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				a := bd.articles[i%len(bd.articles)]
				bi.ix.MatchQueries(NewDoc(a.title, a.url, a.text), count)
			}
			cpu := cpuTime() - cpu0
			wall := b.Elapsed()
			b.StopTimer()
			// The machine may be shared: wall time then counts other
			// people's work too, so rates are per CPU second of this
			// process (garbage collector included), which is what one
			// core would need; the wall-clock rate is reported as well.
			perCPU := float64(b.N) / cpu.Seconds()
			baseRate := 1 / (baselinePerQuery(b, bd).Seconds() * float64(n))
			b.ReportMetric(perCPU, "articles/cpu-s")
			b.ReportMetric(float64(b.N)/wall.Seconds(), "articles/s")
			b.ReportMetric(baseRate, "baseline-articles/cpu-s")
			b.ReportMetric(perCPU/baseRate, "speedup")
			b.ReportMetric(bi.heapPerQry, "heap-B/query")
			b.ReportMetric(bi.buildTime.Seconds(), "build-s")
			b.ReportMetric(bi.buildCPU.Seconds(), "build-cpu-s")
			b.ReportMetric(float64(matches)/float64(b.N), "matches/article")
			b.ReportMetric(float64(matchedQueries)/float64(b.N), "matched-queries/article")
			b.ReportMetric(float64(bi.ix.Distinct()), "distinct-queries")
		})
	}
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var (
	baselineOnce sync.Once
	baselineCost time.Duration
)

// baselinePerQuery measures what checking one query costs per article when
// every query is a compiled regexp run over the article, the way simple
// feed bots filter; it uses a sample of 300 queries over a few articles.
func baselinePerQuery(b *testing.B, bd *benchData) time.Duration {
	baselineOnce.Do(func() {
		texts := bd.queries(300, 99)
		checks := make([]func(title, host, text string) bool, len(texts))
		for i, s := range texts {
			checks[i] = regexpCheck(MustParse(s).root)
		}
		arts := bd.articles[:min(4, len(bd.articles))]
		start := cpuTime()
		hits := 0
		for _, a := range arts {
			host := hostOf(a.url)
			for _, c := range checks {
				if c(a.title, host, a.text) {
					hits++
				}
			}
		}
		baselineCost = (cpuTime() - start) / time.Duration(len(arts)*len(checks))
		b.Logf("baseline: %v CPU per query per article (%d queries × %d articles, %d hits)", baselineCost, len(checks), len(arts), hits)
	})
	return baselineCost
}

// regexpCheck turns a query into regexp checks: a word matches as a
// case-insensitive word prefix (standing in for stemming), a phrase as its
// words separated by non-letters.
func regexpCheck(n *node) func(title, host, text string) bool {
	switch n.op {
	case opAnd, opOr:
		kids := make([]func(string, string, string) bool, len(n.kids))
		for i, k := range n.kids {
			kids[i] = regexpCheck(k)
		}
		and := n.op == opAnd
		return func(title, host, text string) bool {
			for _, k := range kids {
				if k(title, host, text) != and {
					return !and
				}
			}
			return and
		}
	case opNot:
		k := regexpCheck(n.kids[0])
		return func(title, host, text string) bool { return !k(title, host, text) }
	}
	if n.kind == termSite {
		return func(_, host, _ string) bool { return onSite(host, n.words[0]) }
	}
	parts := make([]string, len(n.words))
	for i, w := range n.words {
		parts[i] = regexp.QuoteMeta(w)
	}
	pat := `(?i)\b` + strings.Join(parts, `\W+`)
	switch n.kind {
	case termWord:
		pat += `\w*\b`
	case termPhrase:
		pat += `\b`
	}
	re := regexp.MustCompile(pat)
	if n.title {
		return func(title, _, _ string) bool { return re.MatchString(title) }
	}
	return func(title, _, text string) bool { return re.MatchString(title) || re.MatchString(text) }
}

func BenchmarkParse(b *testing.B) {
	texts := loadBench(b).queries(1000, 5)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Parse(texts[i%len(texts)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewDoc reports the time to tokenise an article, per CPU second
// of this process as BenchmarkMatch does: on a shared machine ns/op counts
// other people's work too.
func BenchmarkNewDoc(b *testing.B) {
	arts := loadBench(b).articles
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		a := arts[i%len(arts)]
		NewDoc(a.title, a.url, a.text)
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
