package bot

import (
	"html"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/locale"
)

// FuzzAlert feeds article fields from outside (titles, links, sources,
// summaries) and the subscriber's topic into the alert formats and checks
// that what comes out is HTML Telegram accepts: only the tags the formats
// write, balanced; only the entities HTML escaping writes; links only to
// http(s); at most MaxMessage characters; and the title visible as text.
func FuzzAlert(f *testing.F) {
	f.Add("Belarus & Iran: drone range < 5 km", "https://example.org/a?x=1&y=2", "Wire", "Officials said <b>more</b> talks.", "belarus")
	f.Add(`<a href="tg://resolve?domain=x">x</a><script>`, "javascript:alert(1)", "&amp;", "*bold* _it_ [x](http://e)", `"military cooperation" -israel`)
	f.Add(strings.Repeat("😀", 3000), "http://e.org/"+strings.Repeat("a", 5000), strings.Repeat("<", 200), strings.Repeat("&lt;", 2000), strings.Repeat("x", 300))
	f.Add("\x00\xff\xfe", "https://[::1]/", "", "", "")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	minsk, err := time.LoadLocation("Europe/Minsk")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, title, link, source, summary, topic string) {
		a := &article.Article{ID: "a1", Title: title, URL: link, Source: source, Summary: summary, Published: &now}
		b := &article.Article{ID: "a2", Title: summary, URL: link, Source: title, Summary: title}
		// Each field on its own: two invalid halves can join into a valid
		// character ("\xd3" + "\xba"), but the message never joins them.
		valid := true
		for _, s := range []string{title, link, source, summary, topic} {
			valid = valid && utf8.ValidString(s)
		}
		checkMessage(t, Alert(a, summary, topic, Reader{Loc: time.UTC}), title, valid)
		checkMessage(t, Alert(a, summary, topic, Reader{P: locale.For("ru"), Loc: minsk, Now: now}), title, valid)
		msg, n := Gathered([]Item{{Article: a, Summary: summary, Topic: topic}, {Article: b, Summary: title, Topic: topic}}, Reader{Loc: minsk})
		if n < 1 || n > 2 {
			t.Fatalf("Gathered took %d of 2", n)
		}
		checkMessage(t, msg, "", valid)
	})
}

var allowedTags = map[string]bool{"b": true, "i": true, "a": true, "code": true, "u": true, "s": true, "pre": true, "blockquote": true}

// checkMessage parses h as Telegram's HTML parse mode does and fails on
// anything Telegram would refuse or that lets input act as markup.
func checkMessage(t *testing.T, h, title string, validInput bool) {
	t.Helper()
	if validInput && !utf8.ValidString(h) {
		t.Fatalf("invalid UTF-8 in a message from valid input")
	}
	var open []string
	var plain strings.Builder
	for i := 0; i < len(h); {
		switch h[i] {
		case '<':
			j := strings.IndexByte(h[i:], '>')
			if j < 0 {
				t.Fatalf("unterminated tag at %d: %q", i, clipFor(h[i:]))
			}
			tag := h[i+1 : i+j]
			i += j + 1
			if name, ok := strings.CutPrefix(tag, "/"); ok {
				if len(open) == 0 || open[len(open)-1] != name {
					t.Fatalf("closing </%s> does not match %v in %q", name, open, clipFor(h))
				}
				open = open[:len(open)-1]
				continue
			}
			name, attrs, _ := strings.Cut(tag, " ")
			if !allowedTags[name] {
				t.Fatalf("tag <%s> in a message: %q", tag, clipFor(h))
			}
			if name == "a" {
				href, ok := strings.CutPrefix(attrs, `href="`)
				if !ok || !strings.HasSuffix(href, `"`) || strings.Contains(strings.TrimSuffix(href, `"`), `"`) {
					t.Fatalf("malformed link <%s>", tag)
				}
				u, err := url.Parse(html.UnescapeString(strings.TrimSuffix(href, `"`)))
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
					t.Fatalf("link to %q", href)
				}
			} else if attrs != "" {
				t.Fatalf("attributes on <%s>", tag)
			}
			open = append(open, name)
		case '&':
			j := strings.IndexByte(h[i:], ';')
			if j < 0 {
				t.Fatalf("bare & at %d: %q", i, clipFor(h[i:]))
			}
			ent := h[i : i+j+1]
			switch ent {
			case "&lt;", "&gt;", "&amp;", "&quot;", "&#39;", "&#34;":
			default:
				t.Fatalf("entity %q in a message", ent)
			}
			plain.WriteString(html.UnescapeString(ent))
			i += j + 1
		case '>':
			t.Fatalf("bare > at %d: %q", i, clipFor(h[i:]))
		default:
			r, size := utf8.DecodeRuneInString(h[i:])
			plain.WriteRune(r)
			i += size
		}
	}
	if len(open) > 0 {
		t.Fatalf("unclosed tags %v", open)
	}
	if n := len(utf16.Encode([]rune(plain.String()))); n > MaxMessage {
		t.Fatalf("message is %d characters, over %d", n, MaxMessage)
	}
	// A short, valid title is shown whole, as text.
	if tt := strings.TrimSpace(title); tt != "" && utf8.ValidString(tt) && len(tt) < 100 && !strings.ContainsAny(tt, "\x00\r\n\t") {
		if !strings.Contains(plain.String(), tt) {
			t.Fatalf("title %q not shown in %q", tt, clipFor(plain.String()))
		}
	}
}

func clipFor(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
