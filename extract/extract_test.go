package extract

import (
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"
)

// articlePage builds a small news page around body paragraphs.
func articlePage(head, body string) string {
	return `<!doctype html><html lang="en"><head>` + head + `</head><body>
<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<article><h1>Storm hits the coast</h1>` + body + `
<figure><img src="a.jpg"><figcaption>Waves on the pier, photographed on Monday.</figcaption></figure>
</article>
<aside><h2>Most read</h2><ul><li><a href="/1">Another story entirely</a></li><li><a href="/2">And one more</a></li></ul></aside>
<footer>Copyright Example News</footer></body></html>`
}

var bodyParas = []string{
	"A powerful storm struck the northern coast on Monday, flooding streets and cutting power to thousands of homes across the region.",
	"Emergency services said they had rescued dozens of people from cars caught in rising water, and urged residents to stay indoors until the evening.",
	"The weather service expects the wind to ease overnight, although heavy rain is likely to continue into Tuesday morning in the hills.",
	"Schools in three districts will stay closed, officials said, while engineers inspect bridges and sea walls for damage.",
}

func bodyHTML() string {
	var b strings.Builder
	for _, p := range bodyParas {
		b.WriteString("<p>" + p + "</p>\n")
	}
	return b.String()
}

func TestFromHTML(t *testing.T) {
	head := `<meta charset="utf-8"><title>Storm hits the coast | Example News</title>
<link rel="canonical" href="/2024/storm?utm_source=rss">
<meta property="og:site_name" content="Example News">
<meta name="author" content="Jane Doe">
<meta property="article:published_time" content="2024-03-04T09:30:00+01:00">`
	res, err := FromHTML([]byte(articlePage(head, bodyHTML())), "https://news.example.com/x")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(bodyParas, "\n\n"); res.Text != want {
		t.Errorf("text:\n%q\nwant\n%q", res.Text, want)
	}
	if res.Title != "Storm hits the coast" {
		t.Errorf("title %q", res.Title)
	}
	if res.Byline != "Jane Doe" {
		t.Errorf("byline %q", res.Byline)
	}
	if res.SiteName != "Example News" {
		t.Errorf("site name %q", res.SiteName)
	}
	if res.Lang != "en" {
		t.Errorf("lang %q", res.Lang)
	}
	if want := time.Date(2024, 3, 4, 8, 30, 0, 0, time.UTC); res.Published == nil || !res.Published.Equal(want) || res.Published.Location() != time.UTC {
		t.Errorf("published %v, want %v in UTC", res.Published, want)
	}
	if res.Canonical != "https://news.example.com/2024/storm?utm_source=rss" {
		t.Errorf("canonical %q", res.Canonical)
	}
}

func TestFromHTMLJSONLD(t *testing.T) {
	head := `<script type="application/ld+json">{"@context":"https://schema.org","@graph":[
{"@type":"WebSite","name":"Site"},
{"@type":"NewsArticle","headline":"Storm hits the coast","datePublished":"2024-03-04T09:30:00Z",
 "author":[{"@type":"Person","name":"Jane Doe"},{"@type":"Person","name":"John Roe"}],
 "publisher":{"@type":"Organization","name":"Example News"}}]}</script>`
	res, err := FromHTML([]byte(articlePage(head, bodyHTML())), "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Published == nil || res.Published.Format(time.RFC3339) != "2024-03-04T09:30:00Z" {
		t.Errorf("published %v", res.Published)
	}
	if !strings.Contains(res.Byline, "Jane Doe") {
		t.Errorf("byline %q", res.Byline)
	}
}

func TestCharsets(t *testing.T) {
	enc := func(cm *charmap.Charmap, s string) string {
		b, err := cm.NewEncoder().String(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ru := "Сильный шторм обрушился на северное побережье в понедельник, затопив улицы и оставив без света тысячи домов по всему региону."
	fr := "Une violente tempête a frappé la côte nord lundi, inondant les rues et privant d'électricité des milliers de foyers de la région."
	tests := []struct {
		name, page, want string
	}{
		{"windows-1251 meta charset", `<meta charset="windows-1251"><p>` + enc(charmap.Windows1251, ru) + `</p>`, ru},
		{"koi8-r http-equiv", `<meta http-equiv="Content-Type" content="text/html; charset=KOI8-R"><p>` + enc(charmap.KOI8R, ru) + `</p>`, ru},
		{"iso-8859-1 declared", `<meta charset="iso-8859-1"><p>` + enc(charmap.ISO8859_1, fr) + `</p>`, fr},
		{"latin-1 declared, bytes are UTF-8", `<meta charset="iso-8859-1"><p>` + fr + `</p>`, fr},
		{"undeclared, not UTF-8", `<p>` + enc(charmap.Windows1252, fr) + `</p>`, fr},
		{"declared late, after a long comment", `<!--` + strings.Repeat("x", 4000) + `--><meta charset="windows-1251"><p>` + enc(charmap.Windows1251, ru) + `</p>`, ru},
		{"UTF-8 BOM", "\xef\xbb\xbf<p>" + fr + "</p>", fr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := toUTF8([]byte(tt.page))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tt.want) {
				t.Errorf("decoded page %q does not contain %q", b, tt.want)
			}
		})
	}
	t.Run("ToUTF8 applies the HTTP charset", func(t *testing.T) {
		page := []byte(`<p>` + enc(charmap.Windows1251, ru) + `</p>`)
		if got := string(ToUTF8(page, "windows-1251")); !strings.Contains(got, ru) {
			t.Errorf("got %q", got)
		}
		utf := []byte(`<p>` + ru + `</p>`)
		if got := ToUTF8(utf, "iso-8859-1"); string(got) != string(utf) {
			t.Errorf("a UTF-8 page labelled latin-1 was re-decoded: %q", got)
		}
	})
}

func TestRenderText(t *testing.T) {
	page := `<div><h2>Heading</h2><p>One  two
three<br>four</p><script>var x=1</script><style>p{}</style><p>caf&eacute;&nbsp;au&#8203;lait</p>
<ul><li>first</li><li>second</li></ul><pre>  keep
  lines</pre><table><tr><td>a</td><td>b</td></tr></table><figure><figcaption>caption</figcaption></figure><!-- note --></div>`
	doc, err := parse([]byte(page))
	if err != nil {
		t.Fatal(err)
	}
	want := "Heading\n\nOne two three\nfour\n\ncafé aulait\n\nfirst\n\nsecond\n\nkeep\nlines\n\na b"
	if got := renderText(doc); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestPostClean(t *testing.T) {
	in := "Storm hits the coast\n\nFirst paragraph.\n\nAdvertisement\n\nSecond paragraph mentions an advertisement.\n\nContinue reading below..."
	want := "First paragraph.\n\nSecond paragraph mentions an advertisement."
	if got := postClean(in, "Storm Hits the Coast"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestChoose(t *testing.T) {
	article := strings.Join(bodyParas, "\n\n")
	noisy := "Sign up for our newsletter to get the news every morning in your inbox.\n\n" + article + "\n\nMost read: another story entirely, and one more about something else."
	if got := choose(article, noisy); got != article {
		t.Error("trafilatura's clean subset should win over readability's noisy superset")
	}
	offTopic := "Our cookie policy explains how we use cookies on this website and how you can change your settings."
	if got := choose(offTopic, article); got != article {
		t.Error("trafilatura's text not found in readability's should lose")
	}
	teaser := bodyParas[0]
	if got := choose(teaser, article); got != article {
		t.Error("a teaser much shorter than readability's text should lose")
	}
	if choose("", article) != article || choose(article, "") != article {
		t.Error("an empty side should give the other")
	}
}

func TestBadInput(t *testing.T) {
	if _, err := FromHTML([]byte(bodyHTML()), "not a url"); err == nil {
		t.Error("relative page URL accepted")
	}
	if _, err := FromHTML([]byte(strings.Repeat("<p>x", maxElements+10)), ""); err == nil {
		t.Error("oversized page accepted")
	}
	if _, err := FromHTML([]byte(strings.Repeat("<div>", 5000)), ""); err == nil {
		t.Error("pathologically deep page accepted")
	}
	res, err := FromHTML([]byte("<html><head><title>Empty</title></head><body></body></html>"), "")
	if !errors.Is(err, ErrNoContent) {
		t.Errorf("page without an article: err %v, want ErrNoContent", err)
	}
	if res == nil {
		t.Error("page without an article: want the metadata anyway")
	}
}
