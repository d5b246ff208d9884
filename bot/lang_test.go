package bot

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/subscriptions"
)

// TestMain fails the run when a text the tests made the bot write was
// missing from the English or the Russian catalogue.
func TestMain(m *testing.M) {
	code := m.Run()
	var missing []string
	for _, id := range locale.Missing() {
		if strings.HasPrefix(id, "en:") || strings.HasPrefix(id, "ru:") {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: messages missing from the catalogue: %v\n", missing)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// ru is the Russian catalogue, for expectations that must follow it.
var ru = locale.For("ru")

// A user whose Telegram speaks Russian gets Russian replies and the
// Russian menu; /language en switches to English and keeps it although
// the app still says ru; /language auto goes back; the buttons of a bare
// /language do the same.
func TestLanguageOfAPrivateChat(t *testing.T) {
	c := newConvo(t, false)
	const me = 3001
	c.srv.AddUser(telegramtest.User{ID: me, FirstName: "Оля", LanguageCode: "ru"})
	c.srv.WaitUntil(10*time.Second, func() bool { return len(c.srv.CommandsFor("chat:5", "ru")) > 0 })

	// The menus: English for every other language, Russian for ru, in
	// the default scope and in the admin's chat.
	for _, scope := range []string{"default", "chat:5"} {
		en, rus := c.srv.CommandsFor(scope, ""), c.srv.CommandsFor(scope, "ru")
		if len(en) == 0 || len(en) != len(rus) {
			t.Fatalf("%s: %d English and %d Russian commands", scope, len(en), len(rus))
		}
		for i := range en {
			if en[i].Command != rus[i].Command || rus[i].Description != ru.T("menu."+rus[i].Command) ||
				en[i].Description != locale.For("en").T("menu."+en[i].Command) {
				t.Errorf("%s: %+v / %+v", scope, en[i], rus[i])
			}
		}
	}
	if got := c.srv.CommandsFor("default", "ru"); got[0].Description != "Начать и посмотреть примеры" {
		t.Errorf("Russian menu starts with %+v", got[0])
	}

	start := c.say(me, me, "/start")
	want(t, start, "присылает новости", "Попробуйте: /sub belarus")
	if code := c.sub(me).Data[CodeField]; code != "ru" {
		t.Fatalf("remembered language_code %q", code)
	}
	c.press(me, me, start, "belarus")
	want(t, c.srv.WaitSentTo(10*time.Second, me, 2)[1], "Подписка оформлена: belarus")
	if a := c.srv.Answers(); a[len(a)-1].Text != "Подписка оформлена: belarus" {
		t.Errorf("the example button answered %q", a[len(a)-1].Text)
	}
	want(t, c.say(me, me, "/sub Minsk | Vitebsk"), "Подписка оформлена: Minsk | Vitebsk (сохранено как minsk OR vitebsk: | записывается как OR; регистр не важен)")
	list := c.say(me, me, "/list")
	want(t, list, "Темы", "1. belarus")
	want(t, c.press(me, me, list, "Отключить 1"), "(отключена)")
	want(t, c.say(me, me, "/pause soon"), "«soon» — не продолжительность")
	want(t, c.say(me, me, "/quiet 25:00-07:00"), "«25:00» — не время")
	want(t, c.say(me, me, "/timezone Europe/Moscow"), "Сейчас ", "по Москве")
	p := c.say(me, me, "/pause 3d")
	if s := c.sub(me); !strings.Contains(p.Plain, ru.Day(s.PausedUntil.In(location(s)))) {
		t.Errorf("pause in Russian: %q", p.Plain)
	}
	want(t, c.say(me, me, "/help"), "Как устроены темы", "OR (или |)", "title:", "site:", "/language")
	want(t, c.say(me, me, "/frobnicate"), "Команды /frobnicate я не знаю")
	// Why a query is refused, in Russian too.
	want(t, c.say(me, me, "/sub (минск"), "символ 7: нужна ), чтобы закрыть ( из символа 1")
	want(t, c.say(me, me, "/preview -минск"), "запрос из одних исключений")
	l := &fakeLinker{}
	c.bot.Email = l
	want(t, c.say(me, me, "/email olya@example.org"), "Ссылка для подтверждения отправлена на olya@example.org")
	if len(l.lang) != 1 || l.lang[0] != "ru" || c.sub(me).Lang != "" {
		t.Fatalf("/email linked in %v; the chat's language became %q", l.lang, c.sub(me).Lang)
	}

	want(t, c.say(me, me, "/language en"), "Language: English")
	if s := c.sub(me); s.Lang != "en" || s.Data[CodeField] != "ru" {
		t.Fatalf("after /language en: lang %q, code %q", s.Lang, s.Data[CodeField])
	}
	want(t, c.say(me, me, "/help"), "How topics work") // the app still says ru
	// So is the chat's own menu, whatever its app's language.
	for _, code := range []string{"", "ru"} {
		if m := c.srv.CommandsFor("chat:3001", code); len(m) == 0 || m[0].Description != "Start and see examples" {
			t.Fatalf("the chat's menu for %q after /language en: %+v", code, m)
		}
	}
	want(t, c.say(me, me, "/language auto"), "Язык: как в Telegram")
	if s := c.sub(me); s.Lang != "" {
		t.Fatalf("after /language auto: lang %q", s.Lang)
	}
	if m := c.srv.CommandsFor("chat:3001", "ru"); len(m) != 0 {
		t.Fatalf("the chat kept its own menu after /language auto: %+v", m)
	}
	// An admin's chat keeps the admin commands in the language chosen,
	// and gets its menus per language back with auto.
	c.srv.AddUser(telegramtest.User{ID: admin, LanguageCode: "ru"})
	want(t, c.say(admin, admin, "/language en"), "Language: English")
	if m := c.srv.CommandsFor("chat:5", "ru"); len(m) == 0 || m[len(m)-1].Description != "Subscribers and deliveries" {
		t.Fatalf("the admin's menu after /language en: %+v", m)
	}
	want(t, c.say(admin, admin, "/language auto"), "Язык: как в Telegram")
	if m := c.srv.CommandsFor("chat:5", "ru"); len(m) == 0 || m[len(m)-1].Description != "Подписчики и доставка" {
		t.Fatalf("the admin's menu after /language auto: %+v", m)
	}
	want(t, c.say(me, me, "/language de"), "Языка «de» я не знаю")

	menu := c.say(me, me, "/language")
	want(t, menu, "Язык: как в Telegram")
	for _, b := range []string{"English", "Русский", "Как в Telegram"} {
		if _, ok := menu.Button(b); !ok {
			t.Fatalf("/language lacks %q: %+v", b, menu.Buttons())
		}
	}
	want(t, c.press(me, me, menu, "English"), "Language: English")
	if s := c.sub(me); s.Lang != "en" {
		t.Fatalf("the English button set %q", s.Lang)
	}
	menu = c.say(me, me, "/language")
	want(t, menu, "Language: English")
	want(t, c.press(me, me, menu, "As in Telegram"), "Язык: как в Telegram")
	menu = c.say(me, me, "/language")
	want(t, c.press(me, me, menu, "Русский"), "Язык: русский")
	if s := c.sub(me); s.Lang != "ru" {
		t.Fatalf("the Russian button set %q", s.Lang)
	}
	// An English user next door is not affected.
	want(t, c.say(1001, 1001, "/start"), "sends news as it is published")
}

// A group speaks the language of the admin who set it up, whoever writes
// later; alerts and round-ups to a Russian chat are Russian, buttons and
// dates included, and their Mute works in Russian.
func TestRussianAlertsAndGroups(t *testing.T) {
	c := newConvo(t, false)
	const me, group, member = 3002, -4001, 3003
	ctx := context.Background()
	c.srv.AddUser(telegramtest.User{ID: me, FirstName: "Иван", LanguageCode: "ru-RU"})
	c.srv.AddUser(telegramtest.User{ID: admin, FirstName: "Админ", LanguageCode: "ru"})
	c.srv.AddUser(telegramtest.User{ID: member, FirstName: "Ann", LanguageCode: "en"})
	c.srv.AddChat(telegramtest.Chat{ID: group, Type: telegramtest.Supergroup, Title: "Редакция"})
	c.srv.SetAdmins(group, admin)

	want(t, c.say(me, me, "/sub belarus"), "Подписка оформлена: belarus")
	want(t, c.say(me, me, "/timezone Europe/Minsk"), "по Минску")
	want(t, c.say(group, admin, "/sub@herald_test_bot belarus"), "Подписка оформлена: belarus")
	want(t, c.say(group, member, "/list@herald_test_bot"), "Темы", "1. belarus")
	if code := c.sub(group).Data[CodeField]; code != "ru" {
		t.Fatalf("the group remembered %q", code)
	}
	// A channel set up from a private chat takes its admin's language;
	// /language there changes the channel's, answered in the admin's.
	const channel = -1004
	c.srv.AddChat(telegramtest.Chat{ID: channel, Type: telegramtest.Channel, Title: "Новости", Username: "novosti"})
	c.srv.SetAdmins(channel, admin)
	want(t, c.say(admin, admin, "/sub @novosti belarus"), "Подписка для @novosti оформлена: belarus")
	if s := c.sub(channel); s.Data[CodeField] != "ru" || printer(s).Lang() != "ru" {
		t.Fatalf("the channel remembered %q", s.Data[CodeField])
	}
	want(t, c.say(admin, admin, "/language @novosti en"), "Язык для @novosti: английский")
	if s := c.sub(channel); printer(s).Lang() != "en" {
		t.Fatalf("the channel's language is %q", s.Lang)
	}

	at := time.Date(time.Now().Year(), 3, 2, 5, 35, 0, 0, time.UTC)
	putPublished(t, c, "ru1", "Belarus opens a crossing", at)
	putPublished(t, c, "ru2", "Belarus closes a crossing", at.Add(time.Hour))
	runSender(t, NewSender(c.st, c.subs, &APITransport{API: apiClient(t, c.srv)}, quietLog(t)))

	n := len(c.srv.SentTo(me))
	enqueue(t, c.st, me, "ru1", "belarus")
	alert := c.srv.WaitSentTo(10*time.Second, me, n+1)[n]
	want(t, alert, "2 марта, 08:35 по Минску", "🔎 Тема: belarus")
	if b, ok := alert.Button("Открыть статью"); !ok || b.URL != "https://news.example/ru1" {
		t.Fatalf("alert buttons: %+v", alert.Buttons())
	}
	muted := c.press(me, me, alert, "Отключить тему")
	if _, ok := muted.Button("Тема отключена · Вернуть"); !ok {
		t.Fatalf("after mute: %+v", muted.Buttons())
	}
	if a := c.srv.Answers(); !strings.HasPrefix(a[len(a)-1].Text, "Тема отключена") {
		t.Errorf("mute answered %q", a[len(a)-1].Text)
	}
	back := c.press(me, me, muted, "Вернуть")
	if _, ok := back.Button("Отключить тему"); !ok || len(c.sub(me).Muted) != 0 {
		t.Fatalf("undo: %+v", back.Buttons())
	}
	// Switched to English, the same alert's button follows.
	want(t, c.say(me, me, "/language en"), "Language: English")
	if m := c.press(me, me, back, "Отключить тему"); !hasButton(m, "Muted · Undo") {
		t.Fatalf("mute after a switch: %+v", m.Buttons())
	}

	// The group's round-up, in Russian although the last to write was
	// an English speaker.
	g := c.sub(group)
	g.Frequency = ModeHourly
	if err := c.subs.Put(ctx, g); err != nil {
		t.Fatal(err)
	}
	enqueue(t, c.st, group, "ru1", "belarus")
	enqueue(t, c.st, group, "ru2", "belarus")
	id := subscriptions.TelegramID(group)
	waitUntil(t, func() bool { n, _ := c.st.Redis.LLen(ctx, HeldKey(c.st, id)).Result(); return n == 2 })
	n = len(c.srv.SentTo(group))
	c.st.Redis.ZAdd(ctx, DueKey(c.st, id), redis.Z{Score: 1, Member: id})
	r := c.srv.WaitSentTo(10*time.Second, group, n+1)[n]
	want(t, r, "2 новые статьи", "2 марта, 05:35 UTC", "2 марта, 06:35 UTC")
	for _, b := range []string{"Открыть 1", "Открыть 2", "Отключить belarus"} {
		if !hasButton(r, b) {
			t.Fatalf("round-up lacks %q: %+v", b, r.Buttons())
		}
	}
	if m := c.press(group, admin, r, "Отключить belarus"); !hasButton(m, "Отключено: belarus · Вернуть") {
		t.Fatalf("round-up mute: %+v", m.Buttons())
	}
}

func hasButton(m telegramtest.Message, label string) bool {
	_, ok := m.Button(label)
	return ok
}
