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
			final = chooseText(c.tr, c.ra)
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

func TestExtractionCorpus(t *testing.T) {
	pages := loadBench(t)
	start := time.Now()
	c, tr, td, ra := scoreCorpus(t, pages)
	t.Logf("%d pages in %v", len(pages), time.Since(start).Round(time.Millisecond))
	t.Logf("combined:    F1 %.4f  precision %.4f  recall %.4f", c.f1, c.precision, c.recall)
	t.Logf("trafilatura (default options): F1 %.4f  precision %.4f  recall %.4f", td.f1, td.precision, td.recall)
	t.Logf("trafilatura (precision, as used): F1 %.4f  precision %.4f  recall %.4f", tr.f1, tr.precision, tr.recall)
	t.Logf("readability: F1 %.4f  precision %.4f  recall %.4f", ra.f1, ra.precision, ra.recall)
}
