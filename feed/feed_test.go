package feed

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"
)

func mustParse(t *testing.T, body, feedURL, contentType string) *Feed {
	t.Helper()
	f, err := Parse([]byte(body), feedURL, contentType)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, f)
	return f
}

func encode(t *testing.T, cm *charmap.Charmap, s string) string {
	t.Helper()
	b, err := cm.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCharsets(t *testing.T) {
	const title = "Новости Беларуси" // Cyrillic: windows-1251 / ISO-8859-5
	rss := func(decl string) string {
		return decl + `<rss version="2.0"><channel><title>` + title + `</title><link>https://example.org/</link>` +
			`<item><title>` + title + `</title><link>/a</link></item></channel></rss>`
	}
	tests := []struct {
		name, body, contentType string
	}{
		{"utf-8", rss(`<?xml version="1.0" encoding="UTF-8"?>`), ""},
		{"no declaration", rss(""), ""},
		{"windows-1251 declared", encode(t, charmap.Windows1251, rss(`<?xml version="1.0" encoding="windows-1251"?>`)), ""},
		{"windows-1251 from HTTP", encode(t, charmap.Windows1251, rss(`<?xml version="1.0"?>`)), "application/rss+xml; charset=windows-1251"},
		{"iso-8859-5 declared", encode(t, charmap.ISO8859_5, rss(`<?xml version='1.0' encoding='ISO-8859-5'?>`)), "text/xml"},
		{"koi8-r from HTTP", encode(t, charmap.KOI8R, rss("")), `text/xml; charset="KOI8-R"`},
		{"utf-8 bom", "\xef\xbb\xbf" + rss(`<?xml version="1.0" encoding="utf-8"?>`), ""},
		// The body was converted to UTF-8 somewhere and the declaration left behind.
		{"stale declaration", rss(`<?xml version="1.0" encoding="windows-1251"?>`), "text/xml; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, tt.body, "", tt.contentType)
			if f.Title != title || len(f.Items) != 1 || f.Items[0].Title != title {
				t.Fatalf("got feed title %q, items %+v", f.Title, f.Items)
			}
		})
	}
	t.Run("iso-8859-1 latin", func(t *testing.T) {
		body := encode(t, charmap.ISO8859_1, `<?xml version="1.0" encoding="ISO-8859-1"?><rss><channel><title>Justiça</title></channel></rss>`)
		if f := mustParse(t, body, "", ""); f.Title != "Justiça" {
			t.Errorf("title %q", f.Title)
		}
	})
	t.Run("undeclared latin-1", func(t *testing.T) {
		body := encode(t, charmap.Windows1252, `<rss><channel><title>Café “quoted”</title></channel></rss>`)
		if f := mustParse(t, body, "", ""); f.Title != "Café “quoted”" {
			t.Errorf("title %q", f.Title)
		}
	})
}

func TestURLs(t *testing.T) {
	const atomDoc = `<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://base.example/dir/">
  <title>t</title><link href="https://site.example/"/>
  <link rel="hub" href="https://hub.example/"/>
  <entry><id>1</id><title>based</title><link href="post-1"/></entry>
  <entry xml:base="/other/"><id>2</id><title>entry base</title><link href="post-2"/></entry>
</feed>`
	f := mustParse(t, atomDoc, "https://feeds.example/atom.xml", "")
	want := map[string]string{"based": "https://base.example/dir/post-1", "entry base": "https://base.example/other/post-2"}
	for _, a := range f.Items {
		if a.URL != want[a.Title] {
			t.Errorf("%s: URL %q, want %q", a.Title, a.URL, want[a.Title])
		}
	}
	if f.Hub != "https://hub.example/" {
		t.Errorf("hub %q", f.Hub)
	}

	const rssDoc = `<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>t</title><link>/blog/</link>
<atom:link rel="hub" href="https://pubsubhubbub.appspot.com/"/>
<ttl>60</ttl><skipHours><hour>0</hour><hour>1</hour></skipHours>
<item><title>rel</title><link>2024/post</link></item>
<item><title>abs</title><link>https://elsewhere.example/x</link></item>
<item><title>guid</title><guid>https://guid.example/p/1</guid></item>
<item><title>not permalink</title><guid isPermaLink="false">https://guid.example/p/2</guid></item>
<item><title>script</title><link>javascript:alert(1)</link></item>
</channel></rss>`
	f = mustParse(t, rssDoc, "https://news.example/feeds/rss.xml", "")
	want = map[string]string{
		"rel":           "https://news.example/blog/2024/post",
		"abs":           "https://elsewhere.example/x",
		"guid":          "https://guid.example/p/1",
		"not permalink": "",
		"script":        "",
	}
	for _, a := range f.Items {
		if a.URL != want[a.Title] {
			t.Errorf("%s: URL %q, want %q", a.Title, a.URL, want[a.Title])
		}
	}
	if f.Link != "https://news.example/blog/" || f.Hub != "https://pubsubhubbub.appspot.com/" {
		t.Errorf("link %q hub %q", f.Link, f.Hub)
	}
	if f.TTL != time.Hour || fmt.Sprint(f.SkipHours) != "[0 1]" {
		t.Errorf("ttl %v skipHours %v", f.TTL, f.SkipHours)
	}

	const jsonDoc = `{"version":"https://jsonfeed.org/version/1.1","title":"j","home_page_url":"https://j.example/",
"hubs":[{"type":"WebSub","url":"https://hub.j.example/"}],
"items":[{"id":"a","url":"/posts/a","title":"A","content_html":"<p>x</p>","date_published":"2024-05-01T10:00:00+02:00"}]}`
	f = mustParse(t, jsonDoc, "", "application/feed+json")
	if len(f.Items) != 1 || f.Items[0].URL != "https://j.example/posts/a" || f.Hub != "https://hub.j.example/" {
		t.Errorf("json feed: %+v hub %q", f.Items, f.Hub)
	}
	if p := f.Items[0].Published; p == nil || !p.Equal(time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("json date %v", p)
	}
}

func TestTextAndOrder(t *testing.T) {
	const doc = `<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Feed &amp; Co</title><link>https://e.example/</link>
<item><title>undated one</title><link>https://e.example/u1</link></item>
<item><title>old</title><link>https://e.example/old</link><pubDate>Mon, 01 Jan 2024 10:00:00 +0100</pubDate></item>
<item><title>  AT&amp;amp;T &lt;b&gt;bold&lt;/b&gt;
  news </title><link>https://e.example/new</link><pubDate>Tue, 02 Jan 2024 10:00:00 GMT</pubDate>
 <dc:creator>Ann Author</dc:creator><category>World</category><category> World </category><category>Europe</category>
 <description><![CDATA[<p>Hello&nbsp;<b>world</b> &amp; friends.</p><script>alert(1)</script><p>Second   para</p>]]></description>
 <content:encoded><![CDATA[<h1>Head</h1><p>Body one.</p><p>Body <i>two</i>.</p>]]></content:encoded></item>
<item><title>undated two</title><link>https://e.example/u2</link></item>
<item><title>localized</title><link>https://e.example/it</link><pubDate>mer, 16 nov 2022 00:38:15 +0100</pubDate></item>
<item><title>vector&lt;int&gt; in C++</title><link>https://e.example/cpp</link></item>
</channel></rss>`
	f := mustParse(t, doc, "", "")
	var titles []string
	for _, a := range f.Items {
		titles = append(titles, a.Title)
	}
	wantOrder := []string{"AT&T bold news", "old", "localized", "undated one", "undated two", "vector<int> in C++"}
	if strings.Join(titles, "|") != strings.Join(wantOrder, "|") {
		t.Errorf("order:\n got %q\nwant %q", titles, wantOrder)
	}
	a := f.Items[0]
	if a.Summary != "Hello world & friends. Second para" {
		t.Errorf("summary %q", a.Summary)
	}
	if a.Text != "Head\n\nBody one.\n\nBody two." {
		t.Errorf("text %q", a.Text)
	}
	if a.Author != "Ann Author" || fmt.Sprint(a.Categories) != "[World Europe]" || a.Source != "Feed & Co" {
		t.Errorf("author %q categories %q source %q", a.Author, a.Categories, a.Source)
	}
	if p := f.Items[1].Published; p == nil || *p != time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC) {
		t.Errorf("date %v", p)
	}
	if p := f.Items[2].Published; p == nil || *p != time.Date(2022, 11, 15, 23, 38, 15, 0, time.UTC) {
		t.Errorf("localized date %v", p)
	}
}

func TestMalformed(t *testing.T) {
	for name, body := range map[string]string{
		"empty":         "",
		"spaces":        "  \n ",
		"html":          "<!doctype html><html><body>hi</body></html>",
		"plain":         "hello",
		"truncated rss": `<rss version="2.0"><channel><title>x</title><item><title>y`,
		"bad json":      `{"version": "https://jsonfeed.org/version/1", "items": [`,
		"other xml":     `<?xml version="1.0"?><catalog/>`,
	} {
		t.Run(name, func(t *testing.T) {
			f, err := Parse([]byte(body), "", "")
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("want ErrMalformed, got %v (%+v)", err, f)
			}
		})
	}
}

func TestItemCap(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<rss version="2.0"><channel><title>many</title>`)
	for i := 0; i < MaxItems+100; i++ {
		fmt.Fprintf(&b, `<item><title>%d</title><link>https://e.example/%d</link></item>`, i, i)
	}
	b.WriteString(`</channel></rss>`)
	f := mustParse(t, b.String(), "", "")
	if len(f.Items) != MaxItems || f.Items[0].Title != "0" {
		t.Errorf("%d items, first %q", len(f.Items), f.Items[0].Title)
	}
}

func TestParseDate(t *testing.T) {
	tests := map[string]string{
		"mer, 16 nov 2022 00:38:15 +0100":       "2022-11-15T23:38:15Z",
		"Dienstag, 3. Okt. 2023 10:00:00 +0200": "",
		"3 Okt 2023 10:00:00 +0200":             "2023-10-03T08:00:00Z",
		"lun, 02 janv. 2023 08:00:00 GMT":       "2023-01-02T08:00:00Z",
		"Sat, Dec 16 2023 02:02:33 PM":          "", // no zone: not guessed
		"Mon, 02 Jan 2006 15:04:05 EST":         "", // abbreviation: not guessed here
		"garbage":                               "",
	}
	for in, want := range tests {
		got := parseDate(in)
		s := ""
		if got != nil {
			s = got.Format(time.RFC3339)
		}
		if s != want {
			t.Errorf("parseDate(%q) = %q, want %q", in, s, want)
		}
	}
}
