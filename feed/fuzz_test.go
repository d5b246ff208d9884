package feed

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary bytes, feed URLs and content types to Parse:
// it must return a feed or an error, never panic or hang, and what it
// returns must keep the invariants the rest of Herald relies on.
func FuzzParse(f *testing.F) {
	// Seeds: the corpus files, read now rather than copied into the project.
	if _, err := os.Stat(corpusDir); err == nil {
		_ = filepath.WalkDir(corpusDir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(path, ".serde.json") || strings.HasSuffix(path, ".md") {
				return nil
			}
			if b, err := os.ReadFile(path); err == nil {
				f.Add(b, "https://example.org/feed.xml", "application/xml")
			}
			return nil
		})
	}
	f.Add([]byte(`<rss version="2.0"><channel><title>t</title><item><title>a &amp;amp; b</title><link>/x</link><pubDate>mer, 16 nov 2022 00:38:15 +0100</pubDate></item></channel></rss>`), "http://e.example/", "text/xml; charset=windows-1251")
	f.Add([]byte(`<feed xmlns="http://www.w3.org/2005/Atom" xml:base="../"><entry><id>x</id><link href="?q=1"/><summary type="html">&lt;p&gt;hi</summary></entry></feed>`), "", "")
	f.Add([]byte(`{"version":"https://jsonfeed.org/version/1","items":[{"id":"1","url":"//x/","date_published":"not a date"}]}`), "", "application/feed+json")
	f.Add([]byte("\xff\xfe<\x00r\x00s\x00s\x00>\x00"), "", "")

	f.Fuzz(func(t *testing.T, body []byte, feedURL, contentType string) {
		// A hang is a failure too: crash the worker so the input is kept.
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				panic(fmt.Sprintf("Parse hung on %q (url %q, type %q)", body, feedURL, contentType))
			}
		}()
		feed, err := Parse(body, feedURL, contentType)
		if err != nil {
			if feed != nil {
				t.Fatal("feed and error both returned")
			}
			return
		}
		checkInvariants(t, feed)
		for _, a := range feed.Items {
			for _, s := range []string{a.Title, a.Summary, a.Text, a.Author, a.URL} {
				if !utf8.ValidString(s) {
					t.Fatalf("invalid UTF-8 in output: %q", s)
				}
			}
		}
	})
}
