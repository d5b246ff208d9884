package bot

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/subscriptions"
)

func TestZoneLabel(t *testing.T) {
	at := time.Date(2026, 1, 2, 5, 35, 0, 0, time.UTC)
	en, ru := locale.For("en"), locale.For("ru")
	for _, tt := range []struct{ zone, en, ru string }{
		{"UTC", "2 January 05:35 UTC", "2 января, 05:35 UTC"},
		{"Europe/Minsk", "2 January 08:35 Minsk time", "2 января, 08:35 по Минску"},
		{"America/Argentina/Buenos_Aires", "2 January 02:35 Buenos Aires time", "2 января, 02:35 (UTC-3)"},
		{"Etc/GMT-3", "2 January 08:35 (UTC+3)", "2 января, 08:35 (UTC+3)"},
		{"Etc/GMT+5", "2 January 00:35 (UTC-5)", "2 января, 00:35 (UTC-5)"},
	} {
		loc, err := time.LoadLocation(tt.zone)
		if err != nil {
			t.Fatal(err)
		}
		if got := (Reader{P: en, Loc: loc, Now: at}).published(at); got != tt.en {
			t.Errorf("%s: %q, want %q", tt.zone, got, tt.en)
		}
		if got := (Reader{P: ru, Loc: loc, Now: at}).published(at); got != tt.ru {
			t.Errorf("%s in Russian: %q, want %q", tt.zone, got, tt.ru)
		}
	}
	if got := (Reader{P: en, Loc: time.UTC, Now: at.AddDate(1, 0, 0)}).published(at); got != "2 January 2026 05:35 UTC" {
		t.Errorf("a date of another year: %q", got)
	}
	if got := clockIn(en, at, time.FixedZone("", 5*3600+30*60)); got != "11:05 (UTC+5:30)" {
		t.Errorf("fixed zone: %q", got)
	}
	for _, z := range cityZones {
		if _, err := time.LoadLocation(z); err != nil {
			t.Errorf("city zone %s: %v", z, err)
		}
		if got := clockIn(ru, at, mustZone(t, z)); !strings.Contains(got, "по ") {
			t.Errorf("%s in Russian: %q", z, got)
		}
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// putPublished stores an article published at a given time.
func putPublished(t *testing.T, c *convo, id, title string, at time.Time) {
	t.Helper()
	a := &article.Article{ID: id, URL: "https://news.example/" + id, Title: title, Text: title + ".", Source: "Example News", Published: &at}
	b, _ := json.Marshal(a)
	if err := c.st.Redis.Set(context.Background(), articles.Key(c.st, id), b, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestTimesInTheChatsZone(t *testing.T) {
	c := newConvo(t, false)
	const me, hourly = 1001, 1002
	ctx := context.Background()
	want(t, c.say(me, me, "/sub belarus"), "Following")
	want(t, c.say(me, me, "/timezone Europe/Minsk"), "Minsk time now")
	p := c.say(me, me, "/pause 2h")
	want(t, p, "Paused until", "Minsk time")
	if strings.Contains(p.Plain, "+03") || strings.Contains(p.Plain, "UTC") {
		t.Fatalf("pause confirmation: %q", p.Plain)
	}
	want(t, c.say(me, me, "/resume"), "on again")

	// This year's date, written without the year.
	at := time.Date(time.Now().Year(), 1, 2, 5, 35, 0, 0, time.UTC)
	putPublished(t, c, "z1", "Belarus opens a crossing", at)
	putPublished(t, c, "z2", "Belarus closes a crossing", at.Add(time.Hour))
	s := NewSender(c.st, c.subs, &APITransport{API: apiClient(t, c.srv)}, quietLog(t))
	runSender(t, s)
	n := len(c.srv.SentTo(me))
	enqueue(t, c.st, me, "z1", "belarus")
	alert := c.srv.WaitSentTo(10*time.Second, me, n+1)[n]
	want(t, alert, "2 January 08:35 Minsk time")

	// A round-up, in its chat's zone.
	c.srv.AddChat(telegramtest.Chat{ID: hourly, Type: telegramtest.Private})
	h := addSub(t, c.subs, hourly, "belarus")
	h.Frequency, h.TZ = ModeHourly, "Asia/Kolkata"
	if err := c.subs.Put(ctx, h); err != nil {
		t.Fatal(err)
	}
	enqueue(t, c.st, hourly, "z1", "belarus")
	enqueue(t, c.st, hourly, "z2", "belarus")
	waitUntil(t, func() bool {
		n, _ := c.st.Redis.LLen(ctx, HeldKey(c.st, subscriptions.TelegramID(hourly))).Result()
		return n == 2
	})
	c.st.Redis.ZAdd(ctx, DueKey(c.st, subscriptions.TelegramID(hourly)), redis.Z{Score: 1, Member: subscriptions.TelegramID(hourly)})
	r := c.srv.WaitSentTo(10*time.Second, hourly, 1)[0]
	want(t, r, "2 new articles", "2 January 11:05 Kolkata time", "2 January 12:05 Kolkata time")
}
