package web_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/matcher"
	"github.com/herald-news/herald/subscriptions"
)

// The sign-up preview and the matcher answer "does this topic match" from
// the same text of an article. Each article here has its topic only in the
// shorter of its summary and its text: the preview used to look at the
// longer one alone and say "no match" for a topic the matcher alerts on.
func TestPreviewAgreesWithMatcher(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	pub := s.clock.Now().Add(-time.Hour).UTC()
	long := "The regional council met on Tuesday to discuss the budget for the coming year, " +
		"the repair of the northern bridge and the timetable of the ferry across the lake."
	arts := []*article.Article{
		{ID: "in-summary", URL: "https://news.example/1", Title: "Council meets", Summary: "A zeppelin will fly over the lake.", Text: long},
		{ID: "in-text", URL: "https://news.example/2", Title: "Council meets again", Summary: long, Text: "A zeppelin flew."},
	}
	for _, a := range arts {
		a.Published = &pub
		if err := articles.Save(ctx, s.st, a); err != nil {
			t.Fatal(err)
		}
		s.st.Redis.ZAdd(ctx, articles.RecentKey(s.st), redis.Z{Score: float64(pub.UnixMilli()), Member: a.ID})
	}
	reader := &subscriptions.Subscriber{ID: "mail:agree", Kind: subscriptions.KindEmail, Status: subscriptions.StatusActive,
		Email: "agree@example.org", Topics: []string{"zeppelin"}}
	if err := s.subs.Put(ctx, reader); err != nil {
		t.Fatal(err)
	}

	m := matcher.New(s.st, s.subs, slog.New(slog.DiscardHandler))
	if _, err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	for _, a := range arts {
		if err := m.Handle(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	items, err := delivery.Items(ctx, s.st, reader.ID)
	if err != nil {
		t.Fatal(err)
	}
	matched := map[string]bool{}
	for _, it := range items {
		matched[it.Article] = true
	}

	code, body := s.get(t, s.base+"/preview?format=json&topics="+url.QueryEscape("zeppelin"))
	if code != 200 {
		t.Fatalf("preview = %d %s", code, body)
	}
	var res struct {
		Topics []struct {
			Count   int
			Matches []struct{ URL string }
		}
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil || len(res.Topics) != 1 {
		t.Fatalf("preview result %s (%v)", body, err)
	}
	previewed := map[string]bool{}
	for _, pm := range res.Topics[0].Matches {
		previewed[pm.URL] = true
	}
	for _, a := range arts {
		if !matched[a.ID] || !previewed[a.URL] {
			t.Errorf("%s: matcher %v, preview %v; want both to match", a.ID, matched[a.ID], previewed[a.URL])
		}
	}
	if res.Topics[0].Count != len(items) {
		t.Errorf("preview counts %d, matcher queued %d", res.Topics[0].Count, len(items))
	}
}
