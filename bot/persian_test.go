package bot

import (
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/summary"
)

// An alert for a Persian article reads right to left in Telegram as it
// is: the title and the summary arrive as written, joiners and Persian
// punctuation included, and nothing adds direction marks around them
// (Telegram lays out each paragraph by its first strong letter).
func TestPersianAlertArrivesIntact(t *testing.T) {
	st := storetest.New(t)
	subs := subscriptions.NewStore(st)
	srv := telegramtest.New(t)
	srv.AddChat(telegramtest.Chat{ID: 21, Type: telegramtest.Private})
	const (
		title = "ایران و اروپا دوباره مذاکره می‌کنند"
		text  = "وزیر امور خارجه ایران گفت دور تازه‌ای از گفتگوها هفته آینده در ژنو برگزار می‌شود. او افزود که تهران به تعهدات خود پایبند است، اما تحریم‌ها باید برداشته شوند. دیپلمات‌های اروپایی هنوز واکنشی نشان نداده‌اند؟ جلسه بعدی روز ۲۵ مهر است."
	)
	a := putArticle(t, st, "fa1", title, text)
	addSub(t, subs, 21, "lang:fa ایران")
	s := NewSender(st, subs, &APITransport{API: apiClient(t, srv)}, quietLog(t))
	runSender(t, s)
	enqueue(t, st, 21, "fa1", "lang:fa ایران")
	srv.WaitSentTo(10*time.Second, 21, 1)
	m := srv.SentTo(21)[0]

	want := summary.Summarize(a.Body(), summary.Options{Sentences: 2, Chars: 600, Title: a.Title})
	if !strings.Contains(want, "می‌شود.") || !strings.Contains(want, "،") {
		t.Fatalf("the summary itself lost its joiners or commas: %q", want)
	}
	lines := strings.Split(m.Plain, "\n")
	if lines[0] != title {
		t.Errorf("first line %q, want the title %q", lines[0], title)
	}
	if !strings.Contains(m.Plain, "\n"+want+"\n") {
		t.Errorf("the alert does not carry the summary as a paragraph of its own:\n%s\nwant %q", m.Plain, want)
	}
	if strings.ContainsAny(m.Text, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069") {
		t.Errorf("the alert has direction marks: %q", m.Text)
	}
}
