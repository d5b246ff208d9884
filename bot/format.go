package bot

import (
	"fmt"
	"html"
	"net/url"
	"strings"
	"time"
	"unicode/utf16"
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
// the summary, and the topic that matched. Times are in loc, the chat's
// zone. It stays under MaxMessage by
// shortening the summary, never by cutting through a tag or an entity.
func Alert(a *article.Article, summary, topic string, loc *time.Location) string {
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
		meta = append(meta, localTime(*a.Published, loc, "2 Jan 15:04"))
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
		body = "\n" + highlight(clip(s, budget), topic)
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

// clip shortens s to at most n characters as Telegram counts them (UTF-16
// code units, so an emoji counts twice) at a word boundary, with an ellipsis
// when it cut.
func clip(s string, n int) string {
	if utf16Len(s) <= n {
		return s
	}
	units, end := 0, 0
	for i, r := range s {
		w := utf16.RuneLen(r)
		if w < 0 {
			w = 1
		}
		if units+w > n-1 {
			break
		}
		units += w
		end = i + utf8.RuneLen(r)
	}
	cut := s[:max(end, 0)]
	if i := strings.LastIndexAny(cut, " \n\t"); i > len(cut)/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:") + "…"
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if w := utf16.RuneLen(r); w > 0 {
			n += w
		} else {
			n++
		}
	}
	return n
}

// textLen approximates the length Telegram counts: UTF-16 code units of the
// text with tags removed and entities as one character.
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
			if w := utf16.RuneLen(r); w > 0 {
				n += w
			} else {
				n++
			}
		}
	}
	return n
}

// Gathered is one message carrying several alerts, for a chat with several
// waiting or for an hourly or daily round-up. It takes items in order while
// they fit under MaxMessage and returns the HTML and how many it took (at
// least one: a single item always fits, its summary shortened).
func Gathered(items []Item, loc *time.Location) (string, int) {
	if len(items) == 0 {
		return "", 0
	}
	if len(items) == 1 {
		it := items[0]
		return Alert(it.Article, it.Summary, it.Topic, loc), 1
	}
	const headRoom = 64 // for the header, written once the count is known
	var body strings.Builder
	used, size := 0, headRoom
	for _, it := range items {
		part := gatheredItem(used+1, it, loc)
		l := textLen(part)
		if size+l > MaxMessage-16 {
			break
		}
		body.WriteString(part)
		size += l
		used++
	}
	if used == 0 {
		return Alert(items[0].Article, items[0].Summary, items[0].Topic, loc), 1
	}
	if used == 1 {
		return Alert(items[0].Article, items[0].Summary, items[0].Topic, loc), 1
	}
	head := fmt.Sprintf("📰 <b>%d new articles</b>", used)
	return head + body.String(), used
}

// Item is one alert inside a gathered message.
type Item struct {
	Article *article.Article
	Summary string
	Topic   string
}

// gatheredItem is item n of a gathered message, numbered so that its
// Open n button is easy to find.
func gatheredItem(n int, it Item, loc *time.Location) string {
	a := it.Article
	title := strings.TrimSpace(a.Title)
	if title == "" {
		title = a.URL
	}
	title = clip(title, 200)
	var b strings.Builder
	fmt.Fprintf(&b, "\n\n%d. ", n)
	if u := safeURL(a.URL); u != "" {
		fmt.Fprintf(&b, "<b><a href=\"%s\">%s</a></b>", esc(u), esc(title))
	} else {
		fmt.Fprintf(&b, "<b>%s</b>", esc(title))
	}
	var meta []string
	if src := sourceName(a); src != "" {
		meta = append(meta, esc(clip(src, 60)))
	}
	if a.Published != nil && !a.Published.IsZero() {
		meta = append(meta, localTime(*a.Published, loc, "2 Jan 15:04"))
	}
	meta = append(meta, "🔎 <code>"+esc(clip(it.Topic, 80))+"</code>")
	b.WriteString("\n<i>" + strings.Join(meta, " · ") + "</i>")
	if s := strings.TrimSpace(it.Summary); s != "" {
		b.WriteString("\n" + highlight(clip(s, 240), it.Topic))
	}
	return b.String()
}

// localTime writes t in loc as people write a time: layout, then the
// zone by its city ("08:35 Minsk time"), or by its offset from UTC where
// the zone has no city ("08:35 (UTC+3)"), never an abbreviation like
// "+03" that Go prints for zones without one.
func localTime(t time.Time, loc *time.Location, layout string) string {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	return t.Format(layout) + " " + zoneLabel(t)
}

// zoneLabel names the zone of t for localTime.
func zoneLabel(t time.Time) string {
	name := t.Location().String()
	if name == "UTC" {
		return "UTC"
	}
	if i := strings.LastIndexByte(name, '/'); i >= 0 && !strings.HasPrefix(name, "Etc/") {
		if city := strings.ReplaceAll(name[i+1:], "_", " "); city != "" {
			return city + " time"
		}
	}
	_, off := t.Zone()
	if off == 0 {
		return "(UTC)"
	}
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	label := fmt.Sprintf("(UTC%s%d", sign, off/3600)
	if m := off % 3600 / 60; m != 0 {
		label += fmt.Sprintf(":%02d", m)
	}
	return label + ")"
}
