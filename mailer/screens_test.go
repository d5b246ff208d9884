package mailer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/internal/browsertest"
	"github.com/herald-news/herald/subscriptions"
)

// hostile are titles and texts that try to break out of the markup, and
// ones too long for a phone's width.
var hostile = []article.Article{
	{URL: "https://news.example/x?a=1&b=<2>", Title: `<img src=x onerror="window.pwned=1"> "Drones" & <script>window.pwned=2</script> over the border`,
		Source: `<b>Wire</b> & Co`,
		Text: `Officials said <script>window.pwned=3</script> nothing at first. Later they said more. ` +
			`Border guards counted eleven drones over the night, more than in any week before. Talks follow.`},
	{URL: "https://news.example/" + strings.Repeat("very-long-path-", 12), Source: "Example News",
		Title: "Drones: " + strings.Repeat("Unbreakablewordwithoutanyspacesatall", 4) + " and a title that goes on and on well past two lines on a phone",
		Text: "A long story begins here with nothing about the topic in its first lines. " +
			"It continues with more of the same for a while. " +
			"Only then does it say that drones were seen near the airport on Tuesday."},
}

// TestDigestScreens renders English and Russian digests of two topics,
// with hostile and long titles, in Chromium at phone and desktop widths,
// light and dark, keeps the screenshots, and checks what a browser shows:
// no script of an article ran, nothing is wider than a phone, and dark
// mode changes the colours.
func TestDigestScreens(t *testing.T) {
	browsertest.Chromium(t)
	f := newFixture(t)
	f.m.Operator = "Example Newsroom"
	ctx := context.Background()
	type variant struct{ lang, email string }
	variants := []variant{{"", "en@example.org"}, {"ru", "ru@example.org"}}
	for _, v := range variants {
		r := f.reader(t, v.email, "instant", 0, "Europe/Vilnius", "drones", "беларусь -россия")
		if _, err := f.subs.Update(ctx, r.ID, func(s *subscriptions.Subscriber) error { s.Lang = v.lang; return nil }); err != nil {
			t.Fatal(err)
		}
		for _, a := range hostile {
			a.URL += "#" + v.email // one article per reader
			f.story(t, r.ID, "drones", a)
		}
		for _, a := range ruStories[1:] {
			a.URL += "#" + v.email
			f.story(t, r.ID, "беларусь -россия", a)
		}
	}
	f.clock.Add(2 * time.Minute)
	if n := f.send(t, false); n != len(variants) {
		t.Fatalf("sent %d digests, want %d", n, len(variants))
	}

	bctx := browsertest.New(t)
	dir := browsertest.Dir(t)
	for _, v := range variants {
		name := "en"
		if v.lang != "" {
			name = v.lang
		}
		m := f.smtp.WaitMessagesTo(5*time.Second, v.email, 1)[0]
		page := filepath.Join(dir, "digest-"+name+".html")
		if err := os.WriteFile(page, []byte(m.HTML), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, scheme := range []string{"light", "dark"} {
			browsertest.Scheme(t, bctx, scheme)
			for _, size := range browsertest.Sizes {
				err := chromedp.Do(bctx, chromedp.EmulateViewport(size.W, size.H), chromedp.Navigate("file://"+page),
					chromedp.WaitVisible("h2"))
				if err != nil {
					t.Fatalf("%s %s: %v", name, size.Name, err)
				}
				pwned, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.pwned !== undefined`))
				if err != nil || pwned {
					t.Errorf("%s: an article's script ran (%v)", name, err)
				}
				wide, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
				if err != nil || wide > 0 {
					t.Errorf("%s %s: the digest is %dpx wider than the window (%v)", name, size.Name, wide, err)
				}
				bg, err := chromedp.Run(bctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('table.card')).backgroundColor`))
				if want := map[string]string{"light": "rgb(255, 255, 255)", "dark": "rgb(28, 33, 40)"}[scheme]; err != nil || bg != want {
					t.Errorf("%s %s: card background %q, want %q (%v)", name, scheme, bg, want, err)
				}
				strong, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('strong').length`))
				if err != nil || strong < 3 {
					t.Errorf("%s: %d words in <strong>, want the topic's words in every summary (%v)", name, strong, err)
				}
				browsertest.Shot(t, bctx, fmt.Sprintf("digest-%s-%s-%s", name, size.Name, scheme))
			}
		}
	}
	t.Logf("screenshots in %s", dir)
}
