package bot

import (
	"context"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/chromedp/chromedp"
	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/internal/browsertest"
	"github.com/herald-news/herald/subscriptions"
)

// TestAlertScreens sends an alert with a hostile title, a Russian
// round-up and a Persian alert through the Bot API double, draws each as
// a Telegram client lays it out (the text Telegram parsed, its entities,
// the inline keyboard under it) and keeps phone and desktop screenshots,
// light and dark, in testdata/artifacts/. It checks what the screen
// shows: no script from an article ran, nothing is wider than a phone,
// and the Persian message is laid out right to left.
func TestAlertScreens(t *testing.T) {
	ctx := browsertest.New(t)
	c := newConvo(t, false)
	const en, ru, fa = 4101, 4102, 4103
	bg := context.Background()
	want(t, c.say(en, en, "/sub drones"), "Following")
	want(t, c.say(en, en, "/timezone Europe/Minsk"), "Minsk")
	want(t, c.say(ru, ru, "/sub беларусь"), "Following")
	want(t, c.say(ru, ru, "/language ru"), "Язык: русский")
	want(t, c.say(ru, ru, "/timezone Europe/Moscow"), "Москв")
	want(t, c.say(ru, ru, "/mode hourly"), "раз в час")
	want(t, c.say(fa, fa, "/sub lang:fa ایران"), "Following")

	putArticle(t, c.st, "h1", `<script>window.pwned=1</script> Drones & "wire" <b>seen</b> over the border`,
		"Border guards counted eleven drones over the night, more than in any week before. Officials said <img src=x onerror=window.pwned=2> nothing more.")
	for i, title := range []string{"Беларусь и Литва откроют ещё один пункт пропуска", "В Минске обсудили транзит через Беларусь", "Беларусь закупит новые поезда"} {
		putArticle(t, c.st, fmt.Sprintf("r%d", i), title, title+". Делегации встретились в среду; Беларусь готова начать уже весной.")
	}
	putArticle(t, c.st, "fa1", "ایران و اروپا دوباره مذاکره می‌کنند",
		"وزیر امور خارجه ایران گفت دور تازه‌ای از گفتگوها هفته آینده در ژنو برگزار می‌شود. او افزود که تهران به تعهدات خود پایبند است.")
	s := NewSender(c.st, c.subs, &APITransport{API: apiClient(t, c.srv)}, quietLog(t))
	runSender(t, s)

	n := map[int64]int{en: len(c.srv.SentTo(en)), ru: len(c.srv.SentTo(ru)), fa: len(c.srv.SentTo(fa))}
	enqueue(t, c.st, en, "h1", "drones")
	enqueue(t, c.st, fa, "fa1", "lang:fa ایران")
	for i := range 3 {
		enqueue(t, c.st, ru, fmt.Sprintf("r%d", i), "беларусь")
	}
	id := subscriptions.TelegramID(ru)
	waitUntil(t, func() bool { l, _ := c.st.Redis.LLen(bg, HeldKey(c.st, id)).Result(); return l == 3 })
	c.st.Redis.ZAdd(bg, DueKey(c.st, id), redis.Z{Score: 1, Member: id})
	shots := []struct {
		name string
		m    telegramtest.Message
		dir  string
	}{
		{"alert-en", c.srv.WaitSentTo(10*time.Second, en, n[en]+1)[n[en]], "ltr"},
		{"roundup-ru", c.srv.WaitSentTo(10*time.Second, ru, n[ru]+1)[n[ru]], "ltr"},
		{"alert-fa", c.srv.WaitSentTo(10*time.Second, fa, n[fa]+1)[n[fa]], "rtl"},
	}
	dir := browsertest.Dir(t)
	for _, sh := range shots {
		page := filepath.Join(dir, sh.name+".html")
		if err := os.WriteFile(page, []byte(telegramPage(sh.m)), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, scheme := range []string{"light", "dark"} {
			browsertest.Scheme(t, ctx, scheme)
			for _, size := range browsertest.Sizes {
				if err := chromedp.Do(ctx, chromedp.EmulateViewport(size.W, size.H), chromedp.Navigate("file://"+page), chromedp.WaitVisible(chromedp.CSS(".msg"))); err != nil {
					t.Fatalf("%s: %v", sh.name, err)
				}
				if pwned, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.pwned !== undefined`)); err != nil || pwned {
					t.Errorf("%s: an article's script ran (%v)", sh.name, err)
				}
				if wide, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`)); err != nil || wide > 0 {
					t.Errorf("%s %s: %d px wider than the screen (%v)", sh.name, size.Name, wide, err)
				}
				if d, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('.msg p')).direction`)); err != nil || d != sh.dir {
					t.Errorf("%s: the first paragraph runs %q, want %q (%v)", sh.name, d, sh.dir, err)
				}
				browsertest.Shot(t, ctx, fmt.Sprintf("%s-%s-%s", sh.name, size.Name, scheme))
			}
		}
	}
	t.Logf("screenshots in %s", dir)
}

// telegramPage draws a message as a Telegram client shows it: the plain
// text Telegram derived from the HTML the bot sent, formatted by the
// entities Telegram reported (never the bot's HTML itself, so what the
// page shows is what Telegram understood), each paragraph laid out by its
// own first strong letter, and the inline keyboard below the bubble.
func telegramPage(m telegramtest.Message) string {
	var b strings.Builder
	b.WriteString(`<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<style>
body{margin:0;background:#a7c4a0;font:15px/1.35 "DejaVu Sans",Roboto,"Segoe UI",sans-serif;color:#000}
.chat{max-width:34rem;padding:12px}
.msg{background:#fff;border-radius:12px 12px 12px 4px;padding:6px 10px 4px;overflow-wrap:anywhere;box-shadow:0 1px 1px rgba(0,0,0,.15)}
.msg p{margin:0 0 .3em;white-space:pre-wrap}
a{color:#168acd;text-decoration:none} code{font-family:"DejaVu Sans Mono",monospace;color:#c7254e}
.time{color:#8aa486;font-size:12px;text-align:end}
.kb{margin-top:4px;display:grid;gap:4px}.row{display:flex;gap:4px}
.btn{flex:1;background:rgba(68,92,64,.55);color:#fff;border-radius:8px;padding:8px 6px;text-align:center;font-size:14px;overflow-wrap:anywhere}
@media (prefers-color-scheme: dark){body{background:#0e1621}.msg{background:#182533;color:#f5f5f5}a{color:#71baf2}code{color:#e3a0b5}.time{color:#6d7f8f}.btn{background:#1f2f3f}}
</style></head><body><div class="chat"><div class="msg">`)
	for _, para := range strings.Split(renderEntities(m.Plain, m.Entities), "\n") {
		b.WriteString(`<p dir="auto">` + para + "</p>")
	}
	b.WriteString(`<div class="time">` + m.Time.Format("15:04") + `</div></div><div class="kb">`)
	row := -1
	for _, btn := range m.Buttons() {
		if btn.Row != row {
			if row >= 0 {
				b.WriteString("</div>")
			}
			b.WriteString(`<div class="row">`)
			row = btn.Row
		}
		b.WriteString(`<div class="btn">` + html.EscapeString(btn.Text) + `</div>`)
	}
	if row >= 0 {
		b.WriteString("</div>")
	}
	b.WriteString("</div></div></body></html>")
	return b.String()
}

// renderEntities writes plain text as HTML, escaped, with Telegram's
// entities (offsets and lengths in UTF-16 code units) as tags.
func renderEntities(plain string, es []telegramtest.Entity) string {
	u := utf16.Encode([]rune(plain))
	// Entities that start together open longest first; any that end
	// together close in the reverse of the order they opened.
	order := make([]int, len(es))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, c int) bool {
		ea, ec := es[order[a]], es[order[c]]
		return ea.Offset < ec.Offset || ea.Offset == ec.Offset && ea.Length > ec.Length
	})
	opens := map[int][]telegramtest.Entity{}
	closes := map[int][]telegramtest.Entity{}
	for _, i := range order {
		e := es[i]
		opens[e.Offset] = append(opens[e.Offset], e)
		end := e.Offset + e.Length
		closes[end] = append([]telegramtest.Entity{e}, closes[end]...)
	}
	tag := func(e telegramtest.Entity, open bool) string {
		name := map[string]string{"bold": "b", "italic": "i", "underline": "u", "strikethrough": "s", "code": "code", "pre": "code",
			"text_link": "a", "url": "a", "blockquote": "q", "spoiler": "span"}[e.Type]
		if name == "" {
			return ""
		}
		if !open {
			return "</" + name + ">"
		}
		if name == "a" {
			return `<a href="` + html.EscapeString(e.URL) + `">`
		}
		return "<" + name + ">"
	}
	var b strings.Builder
	for i := 0; i <= len(u); i++ {
		for _, e := range closes[i] {
			b.WriteString(tag(e, false))
		}
		for _, e := range opens[i] {
			b.WriteString(tag(e, true))
		}
		if i < len(u) {
			j := i + 1
			if utf16.IsSurrogate(rune(u[i])) && j < len(u) {
				j++
			}
			b.WriteString(html.EscapeString(string(utf16.Decode(u[i:j]))))
			i = j - 1
		}
	}
	return b.String()
}
