package summary

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// benchArticle builds a news article of about 1,000 words from the corpus
// stories (or, without them, from generated sentences).
func benchArticle(tb testing.TB) string {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.story"))
	var paras []string
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		a, _ := ParseStory(string(b))
		for _, p := range strings.Split(a, "\n\n") {
			if n >= 1000 {
				break
			}
			paras = append(paras, p)
			n += len(strings.Fields(p))
		}
	}
	if n < 1000 {
		paras, n = nil, 0
		subjects := []string{"The minister", "Officials in Minsk", "The delegation", "Analysts", "The U.S. envoy", "Dr. Smith"}
		verbs := []string{"said", "warned", "argued", "confirmed", "denied", "announced"}
		for i := 0; n < 1000; i++ {
			s := subjects[i%len(subjects)] + " " + verbs[i%len(verbs)] + " on Aug. 7 that talks on military cooperation, drones and sanctions would resume within 3.5 weeks in Tehran."
			paras = append(paras, s)
			n += len(strings.Fields(s))
		}
	}
	return strings.Join(paras, "\n\n")
}

func BenchmarkSummarize(b *testing.B) {
	text := benchArticle(b)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		Summarize(text, Options{Sentences: 3})
	}
	per := time.Since(start).Seconds() / float64(b.N)
	b.ReportMetric(per*1000, "ms/summary")
	b.ReportMetric(1/per, "summaries/s")
}
