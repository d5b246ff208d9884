package bot

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/summary"
)

func TestHighlightMarksTheTopicsWords(t *testing.T) {
	for _, tt := range []struct{ text, topic, want string }{
		{"Drones & <b>drone-makers</b>", "drone*", "<b>Drones</b> &amp; &lt;b&gt;<b>drone</b>-makers&lt;/b&gt;"},
		{"Belarus's border with Belarus", "belarus", "<b>Belarus&#39;s</b> border with <b>Belarus</b>"},
		{"Talks on military cooperation and military aid", `"military cooperation" iran`, "Talks on <b>military cooperation</b> and military aid"},
		{"В Беларуси и Беларусь", "беларусь", "В <b>Беларуси</b> и <b>Беларусь</b>"},
		{"закупка дронов", "дроны", "закупка <b>дронов</b>"},
		{"Un café à Minsk", "cafe", "Un <b>café</b> à Minsk"},
		{"Sanctions sanctioned", "sanction -iran", "<b>Sanctions</b> <b>sanctioned</b>"},
		{"Iran said no", "belarus -iran", "Iran said no"},
		{"no match 😀 here", "belarus", "no match 😀 here"},
	} {
		if got := highlight(tt.text, tt.topic); got != tt.want {
			t.Errorf("highlight(%q, %q) =\n %q, want\n %q", tt.text, tt.topic, got, tt.want)
		}
	}
}

// boldTexts sends html to the double and returns what it shows in bold.
func boldTexts(t *testing.T, srv *telegramtest.Server, chat int64, html string) (telegramtest.Message, []string) {
	t.Helper()
	tr := &APITransport{API: apiClient(t, srv)}
	if err := tr.Send(context.Background(), chat, html, ""); err != nil {
		t.Fatalf("Telegram refused %q: %v", html, err)
	}
	sent := srv.SentTo(chat)
	m := sent[len(sent)-1]
	return m, entityTexts(m, "bold")
}

func TestAlertHighlightsMatchedWords(t *testing.T) {
	srv := telegramtest.New(t, telegramtest.WithLimits(telegramtest.NoLimits))
	srv.AddChat(telegramtest.Chat{ID: 7, Type: telegramtest.Private})
	a := &article.Article{ID: "h1", URL: "https://news.example/h1", Title: "Drone makers meet", Source: "Wire"}
	m, bold := boldTexts(t, srv, 7, Alert(a, "Officials <said> that drones & UAVs flew; “drone” makers agreed. 😀 Ünïcode drone*", "drone* OR uav", Reader{Loc: time.UTC}))
	if want := []string{"Drone makers meet", "drones", "UAVs", "drone", "drone"}; !slices.Equal(bold, want) {
		t.Fatalf("bold = %q, want %q (plain %q)", bold, want, m.Plain)
	}
	if !strings.Contains(m.Plain, "Officials <said> that drones & UAVs") {
		t.Fatalf("plain = %q", m.Plain)
	}
	// Long summaries are cut before highlighting: no tag or character
	// is split, and the message still fits.
	long := strings.Repeat("Ünïcode drone 😀 & stuff. ", 400)
	m, bold = boldTexts(t, srv, 7, Alert(a, long, "drone", Reader{Loc: time.UTC}))
	if len(bold) < 10 || utf16Len(m.Plain) > telegramtest.MaxTextLength {
		t.Fatalf("long alert: %d bold, %d characters", len(bold), utf16Len(m.Plain))
	}
	// A round-up highlights each item.
	b := &article.Article{ID: "h2", URL: "https://news.example/h2", Title: "Second", Source: "Wire"}
	html, n := Gathered([]Item{{Article: a, Summary: "A drone fell.", Topic: "drone"}, {Article: b, Summary: "UAV <test>", Topic: "uav"}}, Reader{Loc: time.UTC})
	_, bold = boldTexts(t, srv, 7, html)
	if n != 2 || !slices.Contains(bold, "drone") || !slices.Contains(bold, "UAV") {
		t.Fatalf("round-up bold = %q", bold)
	}
}

// An article whose lead does not name the topic: the alert's summary is
// chosen to contain the topic's words, both by the sender's own fallback
// and by the shared summariser the service gives it.
func TestAlertSummaryContainsTheTopic(t *testing.T) {
	lead := "The government met on Monday to discuss the budget. Ministers argued for hours about taxes. " +
		"The finance minister promised a decision next week. Opposition leaders called the plan reckless. "
	body := lead + "Late in the day, officials also approved a deal to buy forty drones from abroad. The session ended at night."
	for _, shared := range []bool{false, true} {
		st := storetest.New(t)
		subs := subscriptions.NewStore(st)
		srv := telegramtest.New(t, telegramtest.WithLimits(telegramtest.NoLimits))
		srv.AddChat(telegramtest.Chat{ID: 7, Type: telegramtest.Private})
		addSub(t, subs, 7, "drone*")
		a := &article.Article{ID: "s1", URL: "https://news.example/s1", Title: "Cabinet meets", Text: body, Source: "Wire"}
		js, _ := json.Marshal(a)
		st.Redis.Set(context.Background(), articles.Key(st, "s1"), js, time.Hour)
		s := NewSender(st, subs, &APITransport{API: apiClient(t, srv)}, quietLog(t))
		if shared {
			sum := summary.NewSummarizer(st, nil)
			sum.Options = summary.Options{Sentences: 2, Chars: 600}
			s.Summarize = func(ctx context.Context, a *article.Article, topic string) string {
				q, _ := subscriptions.Parse(topic)
				text, _ := sum.For(ctx, a, q.Terms())
				return text
			}
		}
		runSender(t, s)
		enqueue(t, st, 7, "s1", "drone*")
		m := srv.WaitSentTo(10*time.Second, 7, 1)[0]
		if bold := entityTexts(m, "bold"); !slices.Contains(bold, "drones") {
			t.Fatalf("shared=%v: the summary lacks the topic's words: %q (bold %q)", shared, m.Plain, bold)
		}
	}
}
