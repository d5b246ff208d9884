package bot

import (
	"fmt"
	"html"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/subscriptions"
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

// Reader is whom a message is written for: the chat's language and zone,
// and the time it is written (a date of another year shows the year).
// The zero Reader reads English in UTC now.
type Reader struct {
	P   locale.P
	Loc *time.Location
	Now time.Time
}

// readerOf is the Reader of a subscriber's chat at now.
func readerOf(sub *subscriptions.Subscriber, now time.Time) Reader {
	return Reader{P: printer(sub), Loc: location(sub), Now: now}
}

// published writes when an article was published, in the reader's zone:
// "2 January 08:35 Minsk time".
func (r Reader) published(t time.Time) string {
	loc, now := r.Loc, r.Now
	if loc == nil {
		loc = time.UTC
	}
	if now.IsZero() {
		now = time.Now()
	}
	t = t.In(loc)
	return r.P.T("bot.time.date", "Date", r.P.Date(t, now.In(loc)), "Clock", r.P.Clock(t), "Zone", zoneLabel(r.P, t))
}

// Alert is the HTML text of one alert: the title as a link, source and time,
// the summary, and the topic that matched, in r's language and zone. It
// stays under MaxMessage by shortening the summary, never by cutting
// through a tag or an entity.
func Alert(a *article.Article, summary, topic string, r Reader) string {
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
	if src := a.SourceName(); src != "" {
		meta = append(meta, esc(clip(src, 100)))
	}
	if a.Published != nil && !a.Published.IsZero() {
		meta = append(meta, esc(r.published(*a.Published)))
	}
	if len(a.Sources) > 0 {
		meta = append(meta, esc(r.P.N("bot.alert.sources", len(a.Sources))))
	}
	if len(meta) > 0 {
		head.WriteString("<i>" + strings.Join(meta, " · ") + "</i>\n")
	}
	tail := "\n\n" + r.P.T("bot.alert.topic", "Topic", esc(clip(topic, 256)))
	budget := MaxMessage - textLen(head.String()) - textLen(tail) - 2
	body := ""
	if s := strings.TrimSpace(summary); s != "" && budget > 20 {
		body = "\n" + highlight(clip(s, budget), topic)
	}
	return head.String() + body + tail
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
func Gathered(items []Item, r Reader) (string, int) {
	if len(items) == 0 {
		return "", 0
	}
	if len(items) == 1 {
		it := items[0]
		return Alert(it.Article, it.Summary, it.Topic, r), 1
	}
	const headRoom = 64 // for the header, written once the count is known
	var body strings.Builder
	used, size := 0, headRoom
	for _, it := range items {
		part := gatheredItem(used+1, it, r)
		l := textLen(part)
		if size+l > MaxMessage-16 {
			break
		}
		body.WriteString(part)
		size += l
		used++
	}
	if used <= 1 {
		return Alert(items[0].Article, items[0].Summary, items[0].Topic, r), 1
	}
	head := r.P.N("bot.gathered.head", used)
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
func gatheredItem(n int, it Item, r Reader) string {
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
	if src := a.SourceName(); src != "" {
		meta = append(meta, esc(clip(src, 60)))
	}
	if a.Published != nil && !a.Published.IsZero() {
		meta = append(meta, esc(r.published(*a.Published)))
	}
	meta = append(meta, "🔎 <code>"+esc(clip(it.Topic, 80))+"</code>")
	b.WriteString("\n<i>" + strings.Join(meta, " · ") + "</i>")
	if s := strings.TrimSpace(it.Summary); s != "" {
		b.WriteString("\n" + highlight(clip(s, 240), it.Topic))
	}
	return b.String()
}

// clockIn writes the time of day of t in loc with its zone:
// "08:35 Minsk time", "08:35 по Минску".
func clockIn(p locale.P, t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	return p.T("bot.time.clock", "Clock", p.Clock(t), "Zone", zoneLabel(p, t))
}

// dayTime writes t in loc as a day, a time and the zone: "Monday
// 2 January at 08:35 Minsk time".
func dayTime(p locale.P, t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	return p.T("at_time", "Day", p.Day(t), "Clock", p.Clock(t)) + " " + zoneLabel(p, t)
}

// zoneLabel names the zone of t as people do: by its city ("Minsk
// time", "по Минску"), or by its offset from UTC where the zone has no
// city ("(UTC+3)"), never by an abbreviation like "+03" that Go prints for
// zones without one. English takes the city from the zone's name; other
// languages need its name in their own words (bot.city.<zone>), and a
// zone the catalogue does not name goes by its offset there.
func zoneLabel(p locale.P, t time.Time) string {
	name := t.Location().String()
	if name == "UTC" {
		return "UTC"
	}
	if slices.Contains(cityZones, name) {
		return p.T("bot.time.city", "City", p.T("bot.city."+name))
	}
	if i := strings.LastIndexByte(name, '/'); i >= 0 && !strings.HasPrefix(name, "Etc/") && p.Lang() == locale.Default {
		if city := strings.ReplaceAll(name[i+1:], "_", " "); city != "" {
			return p.T("bot.time.city", "City", city)
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

// cityZones are the zones whose city the catalogue names in every
// language (bot.city.<zone>): the ones Herald's readers are likeliest to
// pick.
var cityZones = []string{
	"Europe/Minsk", "Europe/Moscow", "Europe/Kaliningrad", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Novosibirsk",
	"Asia/Vladivostok", "Europe/Kiev", "Europe/Kyiv", "Europe/Vilnius", "Europe/Riga", "Europe/Tallinn", "Europe/Warsaw",
	"Europe/Berlin", "Europe/Prague", "Europe/Vienna", "Europe/London", "Europe/Paris", "Europe/Madrid", "Europe/Rome",
	"Europe/Amsterdam", "Europe/Stockholm", "Europe/Helsinki", "Europe/Chisinau", "Europe/Istanbul", "Asia/Tbilisi",
	"Asia/Yerevan", "Asia/Baku", "Asia/Almaty", "Asia/Tashkent", "Asia/Bishkek", "Asia/Dubai", "Asia/Jerusalem",
	"Asia/Kolkata", "Asia/Shanghai", "Asia/Tokyo", "America/New_York", "America/Chicago", "America/Los_Angeles",
}
