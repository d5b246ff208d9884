package mailer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/mailer"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/summary"
)

// TestMain fails the run when any text the tests looked up was missing
// from its language's catalogue, so that every email the tests send is
// proven complete in English and Russian.
func TestMain(m *testing.M) {
	code := m.Run()
	if missing := locale.Missing(); len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "locale.Missing() after the mailer tests: %v\n", missing)
		code = 1
	}
	os.Exit(code)
}

// story is an article whose lead does not name the topic: only a
// topic-aware summary shows why it matched.
func (f *fixture) story(t testing.TB, sub, topic string, a article.Article) {
	t.Helper()
	ctx := context.Background()
	a.ID = article.IDFor(a.URL)
	pub := f.clock.Now().Add(-90 * time.Minute).UTC()
	a.Published = &pub
	b, _ := json.Marshal(a)
	if err := f.st.Redis.Set(ctx, articles.Key(f.st, a.ID), b, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	items := []delivery.Digest{{Sub: sub, Item: delivery.Item{Article: a.ID, Topic: topic, At: f.clock.Now()}}}
	if _, _, err := delivery.EnqueueBatch(ctx, f.st, a.ID, nil, items); err != nil {
		t.Fatal(err)
	}
}

var ruStories = []article.Article{
	{URL: "https://news.example/ru/1", Title: "Правительство утвердило бюджет на следующий год", Source: "Пример",
		Text: "Правительство утвердило проект бюджета на следующий год после долгого обсуждения в парламенте. " +
			"Расходы на образование и медицину вырастут почти на десятую часть. " +
			"Министр финансов пообещал, что дефицит останется в разумных пределах. " +
			"Депутаты спорили о налогах до глубокой ночи, но поправки не прошли. " +
			"Голосование прошло в среду при большинстве голосов за. " +
			"Отдельной строкой заложены средства на закупку дронов для пограничной службы. " +
			"Оппозиция назвала документ слишком оптимистичным."},
	{URL: "https://news.example/ru/2", Title: "Минск и Вильнюс обсудили <границу> & транзит", Source: "Пример",
		Text: "Делегации двух стран встретились в пограничном городе, чтобы обсудить очереди на переходах. " +
			"Стороны договорились о новых часах работы пунктов пропуска. " +
			"По словам участников, Беларусь готова открыть ещё один переход уже весной. " +
			"Следующая встреча намечена на лето."},
}

// A Russian reader's digest is Russian throughout: subject, headings,
// counts, dates, links and footer; its summaries name the topic's words
// even when the lead does not, in <strong> in the HTML part only; and it
// links to the reader's archive.
func TestDigestInRussian(t *testing.T) {
	f := newFixture(t)
	f.m.SiteName, f.m.Operator = "Вестник", "Редакция «Пример»"
	ctx := context.Background()
	r := f.reader(t, "ru@example.org", "instant", 0, "Europe/Moscow", "дроны", "беларусь -россия")
	if _, err := f.subs.Update(ctx, r.ID, func(s *subscriptions.Subscriber) error { s.Lang = "ru"; return nil }); err != nil {
		t.Fatal(err)
	}
	f.story(t, r.ID, "дроны", ruStories[0])
	f.story(t, r.ID, "беларусь -россия", ruStories[1])
	f.clock.Add(2 * time.Minute)
	if n := f.send(t, false); n != 1 {
		t.Fatalf("sent %d digests, want 1", n)
	}
	m := f.smtp.WaitMessagesTo(5*time.Second, "ru@example.org", 1)[0]
	if m.Err != nil {
		t.Fatalf("digest does not parse as MIME: %v", m.Err)
	}
	if s := m.HeaderValue("Subject"); s != "Вестник: 2 новые статьи" {
		t.Errorf("Subject = %q", s)
	}
	if !strings.Contains(m.HTML, `<html lang="ru">`) {
		t.Errorf("HTML lang is not ru:\n%.300s", m.HTML)
	}
	// 2030-03-11 12:02 UTC is a Monday, 15:02 in Moscow; the articles
	// came out at 13:30 Moscow time.
	for name, part := range map[string]string{"text": m.Text, "html": m.HTML} {
		for _, want := range []string{"понедельник, 11 марта", "2 новые статьи по вашим темам", "Дроны", "Беларусь, не Россия",
			"11 марта в 13:30", "Открыть в браузере", "Изменить темы, частоту или время", "Отписаться"} {
			if !strings.Contains(part, want) {
				t.Errorf("%s part lacks %q:\n%s", name, want, part)
			}
		}
		if strings.Contains(part, "new article") || strings.Contains(part, "Unsubscribe") {
			t.Errorf("%s part has English in it:\n%s", name, part)
		}
	}
	if !strings.Contains(m.HTML, "Редакция «Пример»") || !strings.Contains(m.Text, "Сервис ведёт Редакция «Пример»") {
		t.Errorf("operator missing from the footer:\n%s", m.Text)
	}
	// The topic-aware summary: the drones sentence is sixth in its
	// article, past the lead, and still in the summary.
	if !strings.Contains(m.Text, "закупку дронов") || !strings.Contains(m.Text, "Беларусь готова") {
		t.Errorf("summaries do not show the topic's words:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, "<strong>дронов</strong>") || !strings.Contains(m.HTML, "<strong>Беларусь</strong>") {
		t.Errorf("the topic's words are not in <strong> in the HTML:\n%s", m.HTML)
	}
	if strings.Contains(m.Text, "<strong>") || strings.Contains(m.Text, "&lt;") {
		t.Errorf("the text part has markup in it:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, "&lt;границу&gt; &amp; транзит") || strings.Contains(m.HTML, "<границу>") {
		t.Errorf("a title's markup is not escaped in the HTML")
	}
	if !strings.Contains(m.Text, "Минск и Вильнюс обсудили <границу> & транзит") {
		t.Errorf("the text part does not show the title as it is")
	}
	sub, err := f.subs.Get(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	archive := delivery.ArchiveURL("https://herald.test", r.ID, delivery.FeedSecretOf(sub))
	if delivery.FeedSecretOf(sub) == "" || m.Link("https://herald.test/archive/") != archive {
		t.Errorf("archive link %q, want %q", m.Link("https://herald.test/archive/"), archive)
	}
	if !strings.Contains(m.HTML, `href="`+archive+`"`) {
		t.Errorf("the HTML part does not link to the archive %s", archive)
	}
	if u := m.HeaderValue("List-Unsubscribe"); !strings.HasPrefix(u, "<https://herald.test/unsubscribe?token=") ||
		m.HeaderValue("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe = %q", u)
	}
}

// A reader without a language gets English, with the same parts; a
// digest of one topic names it in the subject, in the reader's language.
func TestDigestInEnglish(t *testing.T) {
	for _, c := range []struct {
		lang, subject, heading string
	}{
		{"", "Herald: 1 new article on Drones, not Russia", "Drones, not Russia"},
		{"ru", "Herald: 1 новая статья по теме «Drones, не Russia»", "Drones, не Russia"},
	} {
		t.Run("lang="+c.lang, func(t *testing.T) {
			f := newFixture(t)
			r := f.reader(t, "en@example.org", "instant", 0, "UTC", "drones -russia")
			if _, err := f.subs.Update(context.Background(), r.ID, func(s *subscriptions.Subscriber) error { s.Lang = c.lang; return nil }); err != nil {
				t.Fatal(err)
			}
			f.story(t, r.ID, "drones -russia", article.Article{URL: "https://news.example/en/1", Title: "Budget passes",
				Text: "Parliament passed the budget for next year after a long debate on Tuesday night. " +
					"Spending on schools and hospitals rises by almost a tenth. " +
					"The finance minister promised that the deficit would stay within reason. " +
					"A separate line pays for new drones for the border guard. " +
					"The opposition called the plan too hopeful."})
			f.clock.Add(2 * time.Minute)
			if n := f.send(t, false); n != 1 {
				t.Fatalf("sent %d digests", n)
			}
			m := f.smtp.WaitMessagesTo(5*time.Second, "en@example.org", 1)[0]
			if s := m.HeaderValue("Subject"); s != c.subject {
				t.Errorf("Subject = %q, want %q", s, c.subject)
			}
			want := `<html lang="en">`
			if c.lang == "ru" {
				want = `<html lang="ru">`
			}
			if !strings.Contains(m.HTML, want) || !strings.Contains(m.Text, c.heading) {
				t.Errorf("want %s and heading %q:\n%s\n%.200s", want, c.heading, m.Text, m.HTML)
			}
			if !strings.Contains(m.HTML, "new <strong>drones</strong> for the border") || strings.Contains(m.Text, "<strong>") {
				t.Errorf("highlight: text\n%s\nhtml\n%s", m.Text, m.HTML)
			}
			if c.lang == "" && (!strings.Contains(m.Text, "Monday 11 March") || !strings.Contains(m.Text, "11 March at 10:30") ||
				!strings.Contains(m.Text, "View in browser: https://herald.test/archive/")) {
				t.Errorf("English dates or archive link missing:\n%s", m.Text)
			}
		})
	}
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// Confirmations, Telegram link confirmations and manage links are
// written in the language they name, and in English without one.
func TestConfirmationLanguages(t *testing.T) {
	cases := []struct {
		kind, lang, subject string
		body                []string // in both parts
		button              string   // in the HTML part
	}{
		{mailer.ConfirmSignup, "ru", "Подтвердите подписку на дайджест «Herald»",
			[]string{"Здравствуйте!", "дайджесты новостей по темам:", "Если это были не вы"}, "Подтвердить подписку"},
		{mailer.ConfirmLink, "ru", "Подтвердите подписку на дайджесты «Herald» по темам из Telegram",
			[]string{"Здравствуйте!", "попросил в Telegram", "по темам чата:", "Если это были не вы"}, "Подтвердить подписку"},
		{mailer.ConfirmManage, "ru", "Настройки вашего дайджеста «Herald»",
			[]string{"Дайджесты сюда уже приходят по темам:", "ничего не изменилось"}, "Изменить настройки"},
		{mailer.ConfirmSignup, "", "Confirm your Herald news digest",
			[]string{"Hello,", "send news digests to this address on:", "If it was not you"}, "Confirm my subscription"},
		{mailer.ConfirmManage, "", "Your Herald digest settings",
			[]string{"It already receives them, on:", "nothing changed"}, "Change my digest"},
	}
	for _, c := range cases {
		t.Run(c.kind+"/"+c.lang, func(t *testing.T) {
			f := newFixture(t)
			sub := f.pendingReader(t, "c@example.org")
			conf := &mailer.Confirmation{Kind: c.kind, Sub: sub.ID, To: sub.Email, Ticket: sub.ID + " 0a0b", Lang: c.lang,
				Expires: f.clock.Now().Add(mailer.ConfirmValidity), Topics: []string{"беларусь", `"military cooperation"`}}
			if err := f.m.QueueConfirmation(context.Background(), conf); err != nil {
				t.Fatal(err)
			}
			if n := f.confirmations(t); n != 1 {
				t.Fatalf("sent %d", n)
			}
			m := f.smtp.WaitMessagesTo(5*time.Second, "c@example.org", 1)[0]
			if s := m.HeaderValue("Subject"); s != c.subject {
				t.Errorf("Subject = %q, want %q", s, c.subject)
			}
			lang := "en"
			if c.lang != "" {
				lang = c.lang
			}
			if !strings.Contains(m.HTML, `<html lang="`+lang+`">`) || !strings.Contains(m.HTML, "<title>"+c.subject+"</title>") {
				t.Errorf("HTML lang or title wrong:\n%.400s", m.HTML)
			}
			plainHTML := tagRE.ReplaceAllString(m.HTML, "")
			for _, w := range c.body {
				if !strings.Contains(m.Text, w) || !strings.Contains(plainHTML, w) {
					t.Errorf("%q missing from\n%s\n%s", w, m.Text, m.HTML)
				}
			}
			if !strings.Contains(plainHTML, c.button) {
				t.Errorf("button %q missing from\n%s", c.button, m.HTML)
			}
			if !strings.Contains(m.Text, "  - беларусь\n") || !strings.Contains(m.HTML, "<code>&#34;military cooperation&#34;</code>") {
				t.Errorf("topics not listed:\n%s\n%s", m.Text, m.HTML)
			}
			if link := m.Link("https://herald.test/"); link == "" {
				t.Errorf("no link in\n%s", m.Text)
			}
		})
	}
}

// With the shared, cached summariser behind the Summarize hook (as the
// service wires it), the digest shows the summary made for the topic, and
// marks its words.
func TestDigestSharedSummaries(t *testing.T) {
	f := newFixture(t)
	sums := summary.NewSummarizer(f.st, nil)
	f.m.Summarize = func(ctx context.Context, a *article.Article, topic string) string {
		q, err := subscriptions.Parse(topic)
		if err != nil {
			t.Fatalf("topic %q: %v", topic, err)
		}
		text, err := sums.For(ctx, a, q.Terms())
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	r := f.reader(t, "shared@example.org", "instant", 0, "UTC", "дроны")
	f.story(t, r.ID, "дроны", ruStories[0])
	f.clock.Add(2 * time.Minute)
	if n := f.send(t, false); n != 1 {
		t.Fatalf("sent %d digests", n)
	}
	m := f.smtp.WaitMessagesTo(5*time.Second, "shared@example.org", 1)[0]
	if !strings.Contains(m.Text, "закупку дронов") || !strings.Contains(m.HTML, "закупку <strong>дронов</strong>") {
		t.Errorf("the digest lacks the topic's summary:\n%s", m.Text)
	}
	// The article's own summary, without the topic, is the lead: the
	// topic's sentence came from the topic-aware one.
	base, err := sums.For(context.Background(), &article.Article{ID: article.IDFor(ruStories[0].URL)}, nil)
	if err != nil || strings.Contains(base, "дронов") {
		t.Errorf("the base summary already names the topic (%v): %s", err, base)
	}
}
