package feed

import (
	"reflect"
	"testing"
)

func TestAlternates(t *testing.T) {
	page := `<!doctype html><html><head>
<base href="https://news.example/en/">
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="All news" href="feed.xml">
<link rel="Alternate" type="application/atom+xml; charset=utf-8" href="https://news.example/atom.xml">
<link rel="alternate" type="application/feed+json" href="/feed.json">
<link rel="alternate" type="text/html" hreflang="de" href="/de/">
<link rel="alternate" type="application/rss+xml" href="feed.xml">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
</head><body></body></html>`
	got := Alternates([]byte(page), "https://news.example/")
	want := []Alternate{
		{URL: "https://news.example/en/feed.xml", Type: "rss", Title: "All news"},
		{URL: "https://news.example/atom.xml", Type: "atom"},
		{URL: "https://news.example/feed.json", Type: "json"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Alternates =\n%+v\nwant\n%+v", got, want)
	}
	if got := Alternates([]byte("<html><body>none</body></html>"), "https://news.example/"); len(got) != 0 {
		t.Errorf("a page without feeds gave %+v", got)
	}
}
