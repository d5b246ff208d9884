package matcher

import (
	"context"
	"testing"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

// A lang: topic gets the articles in its language: by the language the
// watcher stored, or, for an article stored without one, by the language
// detected when it is matched.
func TestHandleHonoursLang(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	subs := subscriptions.NewStore(st)
	if err := subs.Put(ctx, &subscriptions.Subscriber{ID: "tg:1", Kind: subscriptions.KindTelegram, ChatID: 1, Status: subscriptions.StatusActive}); err != nil {
		t.Fatal(err)
	}
	if _, err := subs.AddTopic(ctx, "tg:1", "lang:ru минск"); err != nil {
		t.Fatal(err)
	}
	m := New(st, subs, nil)
	if _, err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	for _, a := range []*article.Article{
		{ID: "ru", StoryID: "ru", URL: "https://news.example/ru", Lang: "ru", Title: "Переговоры в Минске", Text: "Делегации встретились в Минске и договорились продолжить переговоры через месяц."},
		{ID: "en", StoryID: "en", URL: "https://news.example/en", Lang: "en", Title: "Talks in Minsk", Text: `Delegations met in Minsk, which Russian papers spell Минск, and agreed to meet again in a month.`},
		{ID: "old", StoryID: "old", URL: "https://news.example/old", Title: "Минск принял делегации", Text: "В Минске завершился второй раунд переговоров. Стороны договорились встретиться снова через месяц."},
	} {
		putArticle(t, st, a)
		if err := m.Handle(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := st.Redis.XRange(ctx, delivery.TelegramQueue(st, "tg:1"), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var got []any
	for _, e := range entries {
		got = append(got, e.Values["article"])
	}
	if len(got) != 2 || got[0] != "ru" || got[1] != "old" {
		t.Errorf("queued alerts for %v, want [ru old]", got)
	}
}
