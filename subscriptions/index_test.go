package subscriptions

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// fallbackWords make the random tests meaningful when the shared corpora
// are absent; they are everyday news words, not corpus text.
var fallbackWords = strings.Fields(`iran belarus minsk drone drones military
cooperation nato ukraine russia press tv president minister election vote
market shares bank rates climate storm flood court judge police attack
talks peace border troops oil gas energy prices school health vaccine
football match club league music film festival company profit report
lukašenka café zürich o’brien iran’s`)

var testHosts = []string{"www.bbc.co.uk", "news.example.com", "example.com", "en.newsroom.example", "cnn.example", ""}

// queryGen writes random queries that use every operator of the language,
// from words that occur in the test articles so that many of them match.
type queryGen struct {
	r     *rand.Rand
	words []string   // vocabulary
	runs  [][]string // token sequences of articles, for phrases
	langs []string   // if set, a third of the queries ask for one of them with lang:
}

func (g *queryGen) word() string {
	w := g.words[g.r.IntN(len(g.words))]
	switch g.r.IntN(8) {
	case 0:
		w = strings.ToUpper(w)
	case 1:
		w += "s" // an inflection the stemmer should see through
	case 2:
		w += "’s"
	case 3:
		w = strings.ToUpper(w[:1]) + w[1:]
	}
	return w
}

func (g *queryGen) phrase() string {
	run := g.runs[g.r.IntN(len(g.runs))]
	n := 1 + g.r.IntN(3)
	if len(run) < n {
		return `"` + g.word() + `"`
	}
	i := g.r.IntN(len(run) - n + 1)
	p := strings.Join(run[i:i+n], " ")
	if g.r.IntN(3) == 0 {
		return "“" + p + "”"
	}
	return `"` + p + `"`
}

func (g *queryGen) primary(depth int) string {
	switch k := g.r.IntN(12); {
	case k < 4:
		return g.word()
	case k < 6:
		return g.phrase()
	case k == 6:
		w := g.words[g.r.IntN(len(g.words))]
		if utf8.RuneCountInString(w) < 4 {
			return w
		}
		return string([]rune(w)[:3+g.r.IntN(2)]) + "*"
	case k == 7:
		if g.r.IntN(2) == 0 {
			return "title:" + g.phrase()
		}
		return "title:" + g.word()
	case k == 8:
		h := testHosts[g.r.IntN(len(testHosts)-1)]
		if i := strings.IndexByte(h, '.'); i >= 0 && g.r.IntN(2) == 0 {
			h = h[i+1:]
		}
		return "site:" + h
	case k == 9 && depth < 2:
		return "(" + g.group(depth+1) + ")"
	default:
		return g.word()
	}
}

func (g *queryGen) clause(depth int) string {
	switch k := g.r.IntN(10); {
	case k < 2:
		if g.r.IntN(4) == 0 {
			return "NOT " + g.primary(depth)
		}
		return "-" + g.primary(depth)
	case k < 4:
		ops := []string{" OR ", " | ", "|"}
		s := g.primary(depth)
		for n := 1 + g.r.IntN(2); n > 0; n-- {
			s += ops[g.r.IntN(len(ops))] + g.primary(depth)
		}
		return s
	default:
		return g.primary(depth)
	}
}

func (g *queryGen) group(depth int) string {
	n := 1 + g.r.IntN(3)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = g.clause(depth)
	}
	if depth == 0 && len(g.langs) > 0 && g.r.IntN(3) == 0 {
		parts = slices.Insert(parts, g.r.IntN(len(parts)+1), "lang:"+g.langs[g.r.IntN(len(g.langs))])
	}
	if g.r.IntN(5) == 0 {
		return strings.Join(parts, " AND ")
	}
	return strings.Join(parts, " ")
}

// testDocs returns random articles made of the vocabulary and, when
// available, the seed article and the real corpora.
func testDocs(t *testing.T, r *rand.Rand, words []string) (docs []*Doc, runs [][]string) {
	for i := 0; i < 60; i++ {
		var title, text []string
		for j := 3 + r.IntN(6); j > 0; j-- {
			title = append(title, words[r.IntN(len(words))])
		}
		for j := 20 + r.IntN(200); j > 0; j-- {
			w := words[r.IntN(len(words))]
			if r.IntN(10) == 0 {
				w += "s."
			}
			text = append(text, w)
		}
		h := testHosts[r.IntN(len(testHosts))]
		u := ""
		if h != "" {
			u = "https://" + h + "/story"
		}
		docs = append(docs, NewDoc(strings.Join(title, " "), u, strings.Join(text, " ")))
	}
	return docs, nil
}

func realDocs(t *testing.T) []*Doc {
	var docs []*Doc
	for _, a := range loadCorpus(t) {
		docs = append(docs, NewDoc(a.title, a.url, a.text))
	}
	return append(docs, seedDoc(t))
}

func vocabulary(docs []*Doc) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range docs {
		for _, w := range d.uniq {
			if !seen[w] && len(w) > 2 {
				seen[w] = true
				out = append(out, w)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestIndexMatchesDirectEvaluation is the differential test: for random
// queries over random and real articles, the index returns exactly the
// subscriptions whose query matches when evaluated on its own, before
// and after removals and replacements, with and without frequencies.
func TestIndexMatchesDirectEvaluation(t *testing.T) {
	t.Run("random articles", func(t *testing.T) {
		g, docs := randomQueries(t, 1, 2)
		checkDifferential(t, g, docs, nil)
	})
	t.Run("real articles", func(t *testing.T) {
		docs := realDocs(t)
		r := rand.New(rand.NewPCG(3, 4))
		var runs [][]string
		freq := NewFrequencies()
		for _, d := range docs {
			runs = append(runs, d.Words())
			freq.Add(d)
		}
		g := &queryGen{r: r, words: vocabulary(docs), runs: runs}
		checkDifferential(t, g, docs, nil)
		checkDifferential(t, g, docs, freq)
	})
}

// directMatches returns, sorted, the ids whose query matches d when
// evaluated on its own: what the index must return.
func directMatches(queries map[string]*Query, d *Doc) []string {
	var ids []string
	for id, q := range queries {
		if q.Match(d) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func checkDifferential(t *testing.T, g *queryGen, docs []*Doc, freq *Frequencies) {
	t.Helper()
	ix := NewIndex(freq)
	queries := map[string]*Query{}
	add := func(id string) {
		for {
			q, err := Parse(g.group(0))
			if err == nil {
				ix.Add(id, q)
				queries[id] = q
				return
			}
		}
	}
	for i := 0; i < 3000; i++ {
		add(fmt.Sprint("s", i))
	}
	// Many subscribers share a query.
	for i := 0; i < 500; i++ {
		id := fmt.Sprint("dup", i)
		q := queries[fmt.Sprint("s", g.r.IntN(3000))]
		ix.Add(id, q)
		queries[id] = q
	}
	compare := func(stage string) {
		t.Helper()
		matched := 0
		for di, d := range docs {
			want, got := directMatches(queries, d), ix.Match(d)
			slices.Sort(got)
			matched += len(got)
			if !slices.Equal(got, want) {
				extra, missing := diff(got, want), diff(want, got)
				for _, id := range extra[:min(3, len(extra))] {
					t.Errorf("%s: doc %d: index matched %s %q, direct evaluation did not", stage, di, id, queries[id])
				}
				for _, id := range missing[:min(3, len(missing))] {
					t.Errorf("%s: doc %d: index missed %s %q", stage, di, id, queries[id])
				}
				return
			}
		}
		if matched == 0 {
			t.Errorf("%s: no query matched any article: the test checks nothing", stage)
		}
		t.Logf("%s: %d queries (%d distinct), %d matches over %d articles", stage, ix.Len(), ix.Distinct(), matched, len(docs))
	}
	compare("built")
	for i := 0; i < 3000; i += 3 {
		id := fmt.Sprint("s", i)
		if !ix.Remove(id) {
			t.Fatalf("Remove(%s) = false", id)
		}
		delete(queries, id)
	}
	for i := 1; i < 3000; i += 7 {
		add(fmt.Sprint("s", i)) // replaces what s<i> followed
	}
	if ix.Remove("never-added") {
		t.Error(`Remove("never-added") = true`)
	}
	if ix.Len() != len(queries) {
		t.Errorf("Len() = %d, want %d", ix.Len(), len(queries))
	}
	compare("after removals")
}

func diff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			out = append(out, x)
		}
	}
	return out
}

func TestIndexSharesQueries(t *testing.T) {
	ix := NewIndex(nil)
	ix.Add("a", MustParse("Iran drones"))
	ix.Add("b", MustParse("drones  IRAN"))
	ix.Add("c", MustParse("belarus"))
	if ix.Len() != 3 || ix.Distinct() != 2 {
		t.Fatalf("Len, Distinct = %d, %d; want 3, 2", ix.Len(), ix.Distinct())
	}
	ix.Add("c", MustParse("iran drones")) // c changes its mind
	if ix.Len() != 3 || ix.Distinct() != 1 {
		t.Fatalf("after replacing: Len, Distinct = %d, %d; want 3, 1", ix.Len(), ix.Distinct())
	}
	// Filed under both branches of the OR, with a second key to check:
	// still one match.
	ix.Add("d", MustParse("(zebra OR iran OR drones) the"))
	d := NewDoc("", "", "Iran sent the drones.")
	got := ix.Match(d)
	slices.Sort(got)
	if !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("Match = %q", got)
	}
	var queries []string
	ix.MatchFunc(d, func(id, q string) bool {
		queries = append(queries, q)
		return false // stop at the first
	})
	if len(queries) != 1 {
		t.Errorf("MatchFunc stopping early saw %q", queries)
	}
}

func TestIndexConcurrent(t *testing.T) {
	ix := NewIndex(nil)
	for i := 0; i < 200; i++ {
		ix.Add(fmt.Sprint(i), MustParse(fallbackWords[i%len(fallbackWords)]))
	}
	d := NewDoc("Iran and Belarus", "https://example.com/", strings.Join(fallbackWords, " "))
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if len(ix.Match(d)) == 0 {
					t.Error("no match")
					return
				}
			}
		}()
	}
	for i := 0; i < 200; i++ {
		ix.Add(fmt.Sprint("x", i), MustParse(`"military cooperation" OR drone*`))
		ix.Remove(fmt.Sprint("x", i-1))
	}
	wg.Wait()
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Belarus", `"military cooperation" Iran -Israel`, "belarus OR minsk", "belarus | minsk",
		`-ukraine belarus`, `iran -"press tv"`, "(a OR b) (c -d)", "title:belarus", `title:"a b"`,
		"site:example.com", "drone*", "Lukašenka", "“Belarus’”", "iran’s", "a AND b NOT c",
		"((a))", `"unterminated`, "-a", "a OR -b", "((((((((((a))))))))))", "x-y*", "site:https://a.b/c",
		"a|b|c", "title:dro*", "(-a) b", "lang:ru иран", "иран lang:RU -(a OR b)", "lang:fa", "(lang:en a)",
		"lang:en lang:ru a", "a OR lang:en", "ايران ي‌ك", "Беларусью ёлка",
	} {
		f.Add(s)
	}
	docs := []*Doc{
		NewDoc("Belarus and Iran", "https://news.example.com/x", "Military cooperation: drones, Lukašenka’s talks in Minsk. A B C"),
		NewDoc("", "", "a b c d title site example com"),
		NewDocLang("Иран и Беларусь", "", "ایران lang ru en fa a b", "ru"),
		NewDocLang("a b", "", "lang en", "en"),
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %v is not a *SyntaxError", s, err)
			}
			if n := utf8.RuneCountInString(s); se.Pos < 0 || se.Pos > max(n, MaxQueryLen) {
				t.Fatalf("Parse(%q): position %d outside the query", s, se.Pos)
			}
			return
		}
		norm := q.String()
		if utf8.RuneCountInString(norm) <= MaxQueryLen {
			again, err := Parse(norm)
			if err != nil {
				t.Fatalf("normalised %q of %q does not parse: %v", norm, s, err)
			}
			if again.String() != norm {
				t.Fatalf("normalising is not stable: %q → %q → %q", s, norm, again)
			}
		}
		q.Terms()
		ix := NewIndex(nil)
		ix.Add("q", q)
		for _, d := range append(docs, NewDoc(s, "https://"+s, s)) {
			if got, want := len(ix.Match(d)) == 1, q.Match(d); got != want {
				t.Fatalf("query %q (%q): index says %v, direct evaluation %v", s, norm, got, want)
			}
		}
	})
}

// TestAddBatch checks that filing in batches gives what Add one by one
// gives, with ids added twice (in one batch and across batches), replaced
// and removed, and with ids whose hashes clash (a weak hash makes most of
// them do).
// sameMatches fails the test unless ix matches each article with the
// ids want does, and something matches.
func sameMatches(t *testing.T, stage string, ix, want *Index, docs []*Doc) {
	t.Helper()
	matched := 0
	for di, d := range docs {
		got, w := ix.Match(d), want.Match(d)
		slices.Sort(got)
		slices.Sort(w)
		matched += len(got)
		if !slices.Equal(got, w) {
			t.Fatalf("%s: doc %d: the index matched %d ids, want %d", stage, di, len(got), len(w))
		}
	}
	if matched == 0 {
		t.Fatalf("%s: nothing matched: the test checks nothing", stage)
	}
}

// randomQueries returns random articles and a generator of queries over
// their words, both from the seeds.
func randomQueries(t *testing.T, seed1, seed2 uint64) (*queryGen, []*Doc) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed1, seed2))
	docs, _ := testDocs(t, r, fallbackWords)
	var runs [][]string
	for _, d := range docs {
		runs = append(runs, d.Words())
	}
	return &queryGen{r: r, words: vocabulary(docs), runs: runs}, docs
}

func TestAddBatch(t *testing.T) {
	g, docs := randomQueries(t, 5, 6)
	r := g.r
	var pool []*Query
	for len(pool) < 300 {
		if q, err := Parse(g.group(0)); err == nil {
			pool = append(pool, q)
		}
	}
	for _, weak := range []bool{false, true} {
		one, many := NewIndex(nil), NewIndex(nil)
		if weak {
			many.weak = func(id string) uint64 { return uint64(len(id) % 3) }
		}
		compare := func(stage string) {
			t.Helper()
			if one.Len() != many.Len() || one.Distinct() != many.Distinct() {
				t.Fatalf("weak=%v %s: Len, Distinct = %d, %d by Add; %d, %d by AddBatch", weak, stage, one.Len(), one.Distinct(), many.Len(), many.Distinct())
			}
			for di, d := range docs {
				want, got := one.Match(d), many.Match(d)
				slices.Sort(want)
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Fatalf("weak=%v %s: doc %d: AddBatch index matched %d ids, Add index %d", weak, stage, di, len(got), len(want))
				}
			}
		}
		for round := range 3 {
			ids := make([]string, 2000)
			qs := make([]*Query, len(ids))
			for i := range ids {
				ids[i] = fmt.Sprint("s", r.IntN(1500))
				qs[i] = pool[r.IntN(len(pool))]
				one.Add(ids[i], qs[i])
			}
			for i := 0; i < len(ids); {
				n := min(1+r.IntN(400), len(ids)-i)
				many.AddBatch(ids[i:i+n], qs[i:i+n])
				i += n
			}
			compare(fmt.Sprint("round ", round))
			for range 300 {
				id := fmt.Sprint("s", r.IntN(1500))
				if a, b := one.Remove(id), many.Remove(id); a != b {
					t.Fatalf("weak=%v: Remove(%s) = %v by Add, %v by AddBatch", weak, id, a, b)
				}
			}
			compare(fmt.Sprint("round ", round, " after removals"))
		}
	}
}

// TestIndexLongPhrases checks phrases of three or more words, which the
// index files under their rarest word and checks first against a word
// next to it: whichever word is rarest (first, middle or last), the
// index must agree with evaluating the phrase on its own, including on
// articles that hold the neighbours side by side but not the whole
// phrase, or the phrase split between title and text.
func TestIndexLongPhrases(t *testing.T) {
	queries := []string{
		`"armed forces minsk"`, `"forces of belarus"`, `"very very good"`,
		`"good very very"`, `title:"armed forces minsk"`, `"the armed forces of belarus"`,
	}
	docs := []*Doc{
		NewDoc("Armed forces", "", "Minsk said the armed forces of Belarus were very very good."),
		NewDoc("News", "", "armed forces minsk"),
		NewDoc("News", "", "armed forces, then minsk; forces of the belarus army; very good very"),
		NewDoc("Armed forces minsk", "", "nothing else"),
		NewDoc("The armed forces", "", "of Belarus"),
		NewDoc("", "", "good very very good very very"),
	}
	words := []string{"armed", "forces", "minsk", "of", "belarus", "very", "good", "the"}
	// Make each word in turn the rarest, so every filing place is tried.
	for rare := -1; rare < len(words); rare++ {
		freq := NewFrequencies()
		for i, w := range words {
			if i == rare {
				continue
			}
			freq.Add(NewDoc("", "", w))
		}
		for range 3 {
			freq.Add(NewDoc("", "", strings.Join(words, " ")))
		}
		ix := NewIndex(freq)
		parsed := map[string]*Query{}
		for i, s := range queries {
			q := MustParse(s)
			ix.Add(fmt.Sprint(i), q)
			parsed[fmt.Sprint(i)] = q
		}
		for di, d := range docs {
			want, got := directMatches(parsed, d), ix.Match(d)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("rarest %d, doc %d: index matched %v, direct evaluation %v", rare, di, got, want)
			}
		}
	}
}

// FileBatch matches as Add does; queries parsed apart with one text share
// an entry, Unfile takes out only what it names, and Trim changes no
// match.
func TestFileBatch(t *testing.T) {
	g, docs := randomQueries(t, 7, 8)
	r := g.r
	var texts []string
	for len(texts) < 300 {
		if q, err := Parse(g.group(0)); err == nil {
			texts = append(texts, q.String())
		}
	}
	one, many := NewIndex(nil), NewIndex(nil)
	type filed struct {
		id string
		h  uint32
	}
	var held []filed
	next := 0
	for round := range 4 {
		n := 500 + r.IntN(500)
		ids := make([]string, n)
		qs := make([]*Query, n)
		for i := range ids {
			ids[i] = fmt.Sprint("s", next)
			next++
			// Parsed for each id: the batch holds many pointers per text.
			q, err := Parse(texts[r.IntN(len(texts))])
			if err != nil {
				t.Fatal(err)
			}
			qs[i] = q
			one.Add(ids[i], q)
		}
		handles := make([]uint32, n)
		many.FileBatch(ids, qs, handles)
		for i, id := range ids {
			held = append(held, filed{id, handles[i]})
		}
		// Take out a third, some of them twice (the second does nothing).
		for range len(held) / 3 {
			k := r.IntN(len(held))
			f := held[k]
			one.Remove(f.id)
			many.Unfile(f.h, f.id)
			many.Unfile(f.h, f.id)
			held = slices.Delete(held, k, k+1)
		}
		if round == 2 {
			many.Trim()
		}
		if one.Len() != many.Len() || one.Distinct() != many.Distinct() {
			t.Fatalf("round %d: Len, Distinct = %d, %d by Add; %d, %d by FileBatch", round, one.Len(), one.Distinct(), many.Len(), many.Distinct())
		}
		sameMatches(t, fmt.Sprint("FileBatch, round ", round), many, one, docs)
	}
}

// Taking most queries out compacts the chunks their programs were in;
// what stays matches as before.
func TestIndexCompactsPrograms(t *testing.T) {
	defer func(n int) { compactAfter = n }(compactAfter)
	compactAfter = 64
	g, docs := randomQueries(t, 9, 10)
	ix, want := NewIndex(nil), NewIndex(nil)
	var ids []string
	for i := 0; len(ids) < 2000; i++ {
		q, err := Parse(g.group(0))
		if err != nil {
			continue
		}
		id := fmt.Sprint("s", i)
		ix.Add(id, q)
		if i%10 == 0 {
			want.Add(id, q)
		} else {
			ids = append(ids, id)
		}
	}
	before := ix.progLen
	for _, id := range ids {
		ix.Remove(id)
	}
	if ix.progLen > before/2 {
		t.Errorf("after removing 90%% of the queries, programs take %d numbers of the %d they took (%d unused): never compacted", ix.progLen, before, ix.progHoles)
	}
	t.Logf("programs took %d numbers, then %d (%d unused)", before, ix.progLen, ix.progHoles)
	sameMatches(t, "after compaction", ix, want, docs)
}
