package bot

import (
	"fmt"
	"html"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/herald-news/herald/article"
)

// MaxMessage is Telegram's limit on a message's text, in characters after
// entities are parsed.
const MaxMessage = 4096

// esc escapes a string from outside for Telegram's HTML parse mode, which
// understands only &lt; &gt; &amp; and &quot;.
func esc(s string) string { return html.EscapeString(s) }

// safeURL returns u if it is an absolute http(s) URL, else "": an article's
// link must not become a javascript: or tg: link in a message.
func safeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return ""
	}
	return p.String()
}

// Alert is the HTML text of one alert: the title as a link, source and time,
// the summary, and the topic that matched. It stays under MaxMessage by
// shortening the summary, never by cutting through a tag or an entity.
func Alert(a *article.Article, summary, topic string, now time.Time) string {
	title := strings.TrimSpace(a.Title)
	if title == "" {
		title = a.URL
	}
	title = clip(title, 300)
	var head strings.Builder
	if u := safeURL(a.URL); u != "" {
		fmt.Fprintf(&head, "<b><a href=\"%s\">%s</a></b>\n", esc(u), esc(title))
	} else {
		fmt.Fprintf(&head, "<b>%s</b>\n", esc(title))
	}
	var meta []string
	if src := sourceName(a); src != "" {
		meta = append(meta, esc(clip(src, 100)))
	}
	if a.Published != nil && !a.Published.IsZero() {
		meta = append(meta, a.Published.UTC().Format("2 Jan 15:04 MST"))
	}
	if len(a.Sources) > 0 {
		meta = append(meta, fmt.Sprintf("also in %d other sources", len(a.Sources)))
	}
	if len(meta) > 0 {
		head.WriteString("<i>" + strings.Join(meta, " · ") + "</i>\n")
	}
	tail := "\n\n🔎 Topic: <code>" + esc(clip(topic, 256)) + "</code>"
	budget := MaxMessage - textLen(head.String()) - textLen(tail) - 2
	body := ""
	if s := strings.TrimSpace(summary); s != "" && budget > 20 {
		body = "\n" + esc(clip(s, budget))
	}
	return head.String() + body + tail
}

// sourceName is the name shown for where an article came from.
func sourceName(a *article.Article) string {
	if a.Source != "" {
		return a.Source
	}
	if u, err := url.Parse(a.URL); err == nil {
		return strings.TrimPrefix(u.Hostname(), "www.")
	}
	return ""
}

// clip shortens s to at most n characters at a word boundary, with an
// ellipsis when it cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:max(n-1, 0)]
	cut := string(r)
	if i := strings.LastIndexAny(cut, " \n\t"); i > len(cut)/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:") + "…"
}

// textLen approximates the length Telegram counts: characters of the text
// with tags removed and entities as one character.
func textLen(h string) int {
	n, inTag, inEnt := 0, false, false
	for _, r := range h {
		switch {
		case inTag:
			inTag = r != '>'
		case inEnt:
			inEnt = r != ';'
		case r == '<':
			inTag = true
		case r == '&':
			inEnt = true
			n++
		default:
			n++
		}
	}
	return n
}
