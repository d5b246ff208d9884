package extract

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// pagesDir holds news pages with the metadata Readability.js reads from
// them; shared beside the project.
const pagesDir = "../../shared/corpora/pages"

type expectedMeta struct {
	Title         *string `json:"title"`
	Byline        *string `json:"byline"`
	PublishedTime *string `json:"publishedTime"`
	SiteName      *string `json:"siteName"`
	Lang          *string `json:"lang"`
}

// sameText is how a title or byline agrees: equal after Unicode NFC,
// lower-casing, collapsing whitespace, folding typographic quotes, and
// dropping a leading "By"/"Par" (a byline's label, not part of the name).
func sameText(want *string, got string) bool {
	w := ""
	if want != nil {
		w = *want
	}
	return normText(w) == normText(got)
}

func normText(s string) string {
	s = norm.NFC.String(strings.ToLower(s))
	s = strings.NewReplacer("’", "'", "‘", "'", "“", `"`, "”", `"`).Replace(s)
	s = strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
	for _, p := range []string{"by ", "par "} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

// sameDate is how a published date agrees: both absent, or the same
// instant when the expected value has a zone, else the same calendar day
// as written (a zone-less time names a wall clock we cannot place).
func sameDate(want *string, got *time.Time) bool {
	if want == nil || *want == "" {
		return got == nil
	}
	if got == nil {
		return false
	}
	if t, err := time.Parse(time.RFC3339, *want); err == nil {
		return t.Equal(*got)
	}
	for _, layout := range []string{"2006-01-02T15:04:05-0700", "2006-01-02T15:04:05.999Z0700"} {
		if t, err := time.Parse(layout, *want); err == nil {
			return t.Equal(*got)
		}
	}
	day := *want
	if len(day) >= 10 {
		day = day[:10]
	}
	return got.Format("2006-01-02") == day
}

func TestMetadataCorpus(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(pagesDir, "*", "expected-metadata.json"))
	if len(dirs) == 0 {
		t.Skipf("pages corpus not found at %s: it is shared beside the project, not part of it", pagesDir)
	}
	fields := []string{"title", "byline", "published", "site_name", "lang"}
	agree := map[string]int{}
	filled := map[string]int{} // the reference has nothing, we found something
	for _, f := range dirs {
		dir := filepath.Dir(f)
		name := filepath.Base(dir)
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var want expectedMeta
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		page, err := os.ReadFile(filepath.Join(dir, "source.html"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := FromHTML(page, "http://fakehost/test/page.html")
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		ok := map[string]bool{
			"title":     sameText(want.Title, got.Title),
			"byline":    sameText(want.Byline, got.Byline),
			"published": sameDate(want.PublishedTime, got.Published),
			"site_name": sameText(want.SiteName, got.SiteName),
			"lang":      sameText(want.Lang, got.Lang),
		}
		for _, k := range fields {
			if ok[k] {
				agree[k]++
				continue
			}
			var w any
			switch k {
			case "title":
				w = deref(want.Title)
			case "byline":
				w = deref(want.Byline)
			case "published":
				w = deref(want.PublishedTime)
			case "site_name":
				w = deref(want.SiteName)
			case "lang":
				w = deref(want.Lang)
			}
			g := map[string]any{"title": got.Title, "byline": got.Byline, "published": got.Published, "site_name": got.SiteName, "lang": got.Lang}[k]
			if p, isTime := g.(*time.Time); isTime && p != nil {
				g = p.Format(time.RFC3339)
			}
			if w == "<null>" {
				filled[k]++
			}
			t.Logf("%s: %s differs: want %q, got %q", name, k, w, g)
		}
	}
	n := len(dirs)
	for _, k := range fields {
		t.Logf("%-9s agrees on %d/%d pages (%.0f%%); of the rest, %d filled where the reference has none",
			k, agree[k], n, 100*float64(agree[k])/float64(n), filled[k])
	}
	// The bar: title, byline and date agree on at least 90% of pages.
	for _, k := range []string{"title", "byline", "published"} {
		if float64(agree[k]) < 0.9*float64(n) {
			t.Errorf("%s agrees on %d/%d pages, want at least 90%%", k, agree[k], n)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}
