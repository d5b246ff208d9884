package watcher

import (
	"bytes"
	"compress/gzip"
	"testing"
	"time"
)

func TestParseSitemap(t *testing.T) {
	const doc = `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc> https://news.example/a </loc><lastmod>2026-03-01</lastmod></url>
<url><loc>https://news.example/b</loc><news:news><news:publication_date>2026-03-01T10:30+01:00</news:publication_date><news:title>B &amp; C</news:title></news:news></url>
<url><loc>https://news.example/c</loc></url>
</urlset>`
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(doc))
	zw.Close()
	for name, body := range map[string][]byte{"plain": []byte(doc), "gzipped file": gz.Bytes()} {
		t.Run(name, func(t *testing.T) {
			d, err := parseSitemap(body)
			if err != nil {
				t.Fatal(err)
			}
			if d.XMLName.Local != "urlset" || len(d.URLs) != 3 {
				t.Fatalf("%s with %d urls", d.XMLName.Local, len(d.URLs))
			}
			now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
			stubs := sitemapStubs(d.URLs, now)
			if len(stubs) != 3 || stubs[0].URL != "https://news.example/b" || stubs[0].Title != "B & C" ||
				!stubs[0].Published.Equal(time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)) ||
				stubs[1].URL != "https://news.example/a" || stubs[2].Published != nil {
				t.Fatalf("stubs %+v %+v %+v", stubs[0], stubs[1], stubs[2])
			}
			if old := sitemapStubs(d.URLs, now.Add(72*time.Hour)); len(old) != 1 || old[0].URL != "https://news.example/c" {
				t.Errorf("three days later: %d stubs, want only the undated one", len(old))
			}
		})
	}
	for _, bad := range []string{`<rss version="2.0"><channel></channel></rss>`, `<html><body>x</body></html>`, `not xml`} {
		if _, err := parseSitemap([]byte(bad)); err == nil {
			t.Errorf("parseSitemap(%q) succeeded", bad)
		}
	}
}
