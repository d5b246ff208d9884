package extract

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzSeeds are small pages written for the fuzzer to start from: the
// shapes that have broken HTML extractors before.
var fuzzSeeds = []string{
	"",
	"<",
	"<html><head><title>T</title></head><body><article><p>Hello world.</p></article></body></html>",
	`<html lang="fr"><head><meta charset="windows-1252"><link rel="canonical" href="/a?utm_source=x"></head><body><p>caf` + "\xe9" + ` cr` + "\xe8" + `me</p></body></html>`,
	`<meta http-equiv="Content-Type" content="text/html; charset=koi8-r"><p>` + "\xf0\xd2\xc9\xd7\xc5\xd4" + `</p>`,
	`<meta charset="utf-16"><p>not really utf-16</p>`,
	`<script type="application/ld+json">{"@type":"NewsArticle","headline":"H","author":[{"name":"A"},"B"],"datePublished":"2020-01-02T03:04:05Z","@graph":[[[[]]]]}</script><p>x</p>`,
	`<script type="application/ld+json">{"@type":["Article"],"datePublished":"0000-00-00","author":{"name":null}}</script>`,
	`<base href="javascript:alert(1)"><link rel=canonical href="http://[::1">`,
	strings.Repeat("<div>", 2000) + "deep" + strings.Repeat("</div>", 2000),
	strings.Repeat("<p>word word word word word.</p>", 300),
	"<table><tr><td>a<td>b<tr><td>c</table><pre>  x\n  y</pre><br><br><ul><li>one<li>two</ul>",
	"<svg><math><mi><mglyph><style><img src=x onerror=alert(1)></style></mglyph></mi></math></svg>",
	"<html><body><article><h1>Title</h1><p>" + strings.Repeat("Some longer sentence about the news of the day. ", 40) + "</p><figure><figcaption>caption</figcaption></figure><p>Advertisement</p></article><aside>related</aside></body></html>",
	"\xef\xbb\xbf<p>BOM page</p>",
	"\xff\xfe<\x00p\x00>\x00h\x00i\x00",
}

// FuzzExtract checks that no input crashes FromHTML, hangs it, or yields
// text that is not UTF-8. Seeds: the pages above and, when the shared
// corpora are there, a few real pages.
//
//	go test ./extract/ -run '^$' -fuzz FuzzExtract -fuzztime 60s
func FuzzExtract(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	for _, p := range fuzzCorpusSeeds(f) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, page []byte) {
		// Bound the work per input as production does (10 MiB per page);
		// the fuzzer rarely grows inputs anywhere near that.
		if len(page) > 1<<20 {
			t.Skip()
		}
		res, err := FromHTML(page, "https://example.com/news/story")
		if err != nil && res == nil {
			return
		}
		for name, s := range map[string]string{"title": res.Title, "byline": res.Byline, "site": res.SiteName, "lang": res.Lang, "text": res.Text, "canonical": res.Canonical} {
			if !utf8.ValidString(s) {
				t.Errorf("%s is not valid UTF-8: %q", name, s)
			}
		}
		if res.Published != nil && res.Published.Location().String() != "UTC" {
			t.Errorf("published %v is not UTC", res.Published)
		}
		if res.Canonical != "" && !strings.HasPrefix(res.Canonical, "http") {
			t.Errorf("canonical %q is not an http(s) URL", res.Canonical)
		}
	})
}

// fuzzCorpusSeeds returns a few real pages from the shared corpora; none
// when they are absent (the fuzzer still has the written seeds).
func fuzzCorpusSeeds(tb testing.TB) [][]byte {
	var out [][]byte
	for _, name := range []string{"bbc-1", "liberation-1", "gmw"} {
		if b, err := os.ReadFile(filepath.Join(pagesDir, name, "source.html")); err == nil {
			out = append(out, b)
		}
	}
	gz, _ := filepath.Glob(filepath.Join(benchDir, "html", "*.html.gz"))
	for i, path := range gz {
		if i >= 2 {
			break
		}
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		if zr, err := gzip.NewReader(f); err == nil {
			if b, err := io.ReadAll(zr); err == nil {
				out = append(out, b)
			}
		}
		f.Close()
	}
	if len(out) == 0 {
		tb.Logf("corpus seeds skipped: no shared corpora at %s or %s", pagesDir, benchDir)
	}
	return out
}
