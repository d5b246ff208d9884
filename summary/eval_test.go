package summary

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// corpusDir holds CNN stories with reference highlights; it lives beside the
// module, not in it, so the evaluation skips when it is absent.
const corpusDir = "../../shared/corpora/summaries"

type story struct {
	name       string
	article    string
	highlights []string
}

func loadStories(tb testing.TB) []story {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.story"))
	if len(files) == 0 {
		tb.Skipf("no .story files in %s (the shared corpora sit beside the module); skipping the evaluation", corpusDir)
	}
	sort.Strings(files)
	var out []story
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		a, h := ParseStory(string(b))
		if a == "" || len(h) == 0 {
			continue
		}
		out = append(out, story{filepath.Base(f), a, h})
	}
	return out
}

// lead3 is the baseline: the article's first three sentences as they stand,
// split by the same splitter.
func lead3(text string) string {
	s := Sentences(text)
	return strings.Join(s[:min(3, len(s))], " ")
}

// TestROUGE scores herald's 3-sentence summary and LEAD-3 against the
// reference highlights with the same ROUGE code, and holds herald to
// LEAD-3 + 1 point on ROUGE-1 and at least LEAD-3 on ROUGE-2 and ROUGE-L.
func TestROUGE(t *testing.T) {
	stories := loadStories(t)
	var herald, lead, leadClean rougeScores
	for _, s := range stories {
		ref := strings.Join(s.highlights, " ")
		h := rouge(Summarize(s.article, Options{Sentences: 3}), ref)
		l := rouge(lead3(s.article), ref)
		lc := rouge(lead3(Clean(s.article)), ref)
		if testing.Verbose() {
			t.Logf("%-14.14s herald %5.1f/%5.1f/%5.1f  lead-3 %5.1f/%5.1f/%5.1f", s.name,
				100*h.r1, 100*h.r2, 100*h.rl, 100*l.r1, 100*l.r2, 100*l.rl)
		}
		herald, lead, leadClean = herald.add(h), lead.add(l), leadClean.add(lc)
	}
	k := 100 / float64(len(stories))
	herald, lead, leadClean = herald.scale(k), lead.scale(k), leadClean.scale(k)
	t.Logf("ROUGE-1/2/L F1 over %d stories:", len(stories))
	t.Logf("  herald          %5.2f / %5.2f / %5.2f", herald.r1, herald.r2, herald.rl)
	t.Logf("  LEAD-3          %5.2f / %5.2f / %5.2f", lead.r1, lead.r2, lead.rl)
	t.Logf("  LEAD-3 cleaned  %5.2f / %5.2f / %5.2f (first three sentences after Clean)", leadClean.r1, leadClean.r2, leadClean.rl)
	if herald.r1 < lead.r1+1 {
		t.Errorf("ROUGE-1 %.2f: want at least LEAD-3 %.2f + 1", herald.r1, lead.r1)
	}
	if herald.r2 < lead.r2 {
		t.Errorf("ROUGE-2 %.2f: want at least LEAD-3 %.2f", herald.r2, lead.r2)
	}
	if herald.rl < lead.rl {
		t.Errorf("ROUGE-L %.2f: want at least LEAD-3 %.2f", herald.rl, lead.rl)
	}
}
