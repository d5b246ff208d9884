package extract

import (
	"encoding/json"
	nurl "net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/markusmobius/go-trafilatura"
)

// scoreCorpus extracts every page and scores the combined text and each
// extractor alone.
func scoreCorpus(tb testing.TB, pages []benchPage) (combined, traf, trafDefault, read metrics) {
	var cs, ts, ds, rs []pageScore
	dump := os.Getenv("EXTRACT_DUMP") // a directory: per-page texts, for tuning the choice rule
	for _, p := range pages {
		start := time.Now()
		c, err := run(p.html, p.url)
		var t, r, final string
		if err == nil {
			if c.tr != nil {
				t = c.tr.text
			}
			if c.ra != nil {
				r = c.ra.text
			}
			final = c.result().Text
		}
		// go-trafilatura as its users usually run it, for comparison.
		var d string
		if c != nil {
			d = trafilaturaDefault(p.html, p.url)
		}
		ds = append(ds, score(p.truth, d))
		cs = append(cs, score(p.truth, final))
		ts = append(ts, score(p.truth, t))
		rs = append(rs, score(p.truth, r))
		if dump != "" {
			b, _ := json.Marshal(map[string]any{"id": p.id, "truth": p.truth, "traf": t, "read": r, "final": final, "ms": time.Since(start).Milliseconds()})
			os.WriteFile(filepath.Join(dump, p.id+".json"), b, 0o644)
		}
	}
	return summarize(cs), summarize(ts), summarize(ds), summarize(rs)
}

// trafilaturaDefault extracts with go-trafilatura's usual settings
// (balanced, its own fallbacks on), rendered as FromHTML renders text.
func trafilaturaDefault(page []byte, pageURL string) string {
	doc, err := parse(page)
	if err != nil {
		return ""
	}
	u, _ := nurl.Parse(pageURL)
	out, err := trafilatura.ExtractDocument(doc, trafilatura.Options{OriginalURL: u, EnableFallback: true, ExcludeComments: true})
	if err != nil {
		return ""
	}
	return renderText(out.ContentNode)
}

// TestExtractionCorpus scores extraction on the benchmark pages as its
// SOURCE.md describes and holds the combined result to the bar.
// Run with -v to see the figures:
//
//	go test ./extract/ -run ExtractionCorpus -v
func TestExtractionCorpus(t *testing.T) {
	pages := loadBench(t)
	start := time.Now()
	c, tr, td, ra := scoreCorpus(t, pages)
	t.Logf("%d pages in %v", len(pages), time.Since(start).Round(time.Millisecond))
	t.Logf("combined (FromHTML):              F1 %.4f  precision %.4f  recall %.4f", c.f1, c.precision, c.recall)
	t.Logf("trafilatura alone, default opts:  F1 %.4f  precision %.4f  recall %.4f", td.f1, td.precision, td.recall)
	t.Logf("trafilatura alone, as used here:  F1 %.4f  precision %.4f  recall %.4f", tr.f1, tr.precision, tr.recall)
	t.Logf("readability alone:                F1 %.4f  precision %.4f  recall %.4f", ra.f1, ra.precision, ra.recall)
	if c.f1 < 0.97 {
		t.Errorf("combined F1 %.4f, want at least 0.97", c.f1)
	}
}

// BenchmarkExtract measures FromHTML over the benchmark pages and reports
// the quality figures beside the speed.
//
//	go test ./extract/ -run '^$' -bench Extract -benchtime 1x
func BenchmarkExtract(b *testing.B) {
	pages := loadBench(b)
	var m metrics
	b.ResetTimer()
	for b.Loop() {
		var scores []pageScore
		for _, p := range pages {
			res, _ := FromHTML(p.html, p.url)
			var text string
			if res != nil {
				text = res.Text
			}
			scores = append(scores, score(p.truth, text))
		}
		m = summarize(scores)
	}
	b.ReportMetric(float64(len(pages)*b.N)/b.Elapsed().Seconds(), "pages/s")
	b.ReportMetric(m.f1, "F1")
	b.ReportMetric(m.precision, "precision")
	b.ReportMetric(m.recall, "recall")
}
