package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/subscriptions"
)

// TestArchive: the archive lists a reader's matches by local day, newest
// first, each article's fields escaped and the topic's words marked; a
// wrong secret gets the 404 page; the reader's language names the days.
func TestArchive(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	sub := &subscriptions.Subscriber{ID: "mail:archive", Kind: subscriptions.KindEmail, Email: "archive@example.org",
		Status: subscriptions.StatusActive, Topics: []string{"belarus"}, Frequency: "daily", TZ: "Asia/Tokyo"}
	s.subs.Put(ctx, sub)
	s.publish(t, "border", "Belarus opens a border crossing", "Belarus reopened a crossing on Monday.")
	s.publishWith(t, "evil", `Belarus <script>alert(1)</script>`, `Belarus & <img src=x onerror=alert(1)> maps`, func(a *article.Article) {
		a.Source = `Wire "<b>"`
	})
	s.publish(t, "weather", "Harbour weather", "Rain.") // matches nothing
	// Older matches, as the list holds them (newest first): one three
	// days ago, one too old to show.
	s.publish(t, "older", "Minsk museum reopens", "The museum reopened.")
	s.publish(t, "ancient", "Minsk zoo", "The zoo.")
	for _, e := range []delivery.FeedEntry{
		{Article: article.IDFor("https://news.example/older"), Topic: "belarus", At: time.Now().Add(-72 * time.Hour)},
		{Article: article.IDFor("https://news.example/ancient"), Topic: "belarus", At: time.Now().AddDate(0, 0, -31)},
	} {
		b, _ := json.Marshal(e)
		s.st.Redis.RPush(ctx, delivery.FeedKey(s.st, sub.ID), b)
	}
	secret, err := delivery.FeedSecret(ctx, s.subs, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	code, page := s.get(t, s.base+delivery.ArchivePath(sub.ID, secret))
	if code != 200 {
		t.Fatalf("archive = %d:\n%s", code, page)
	}
	day := time.Now().In(zone(t, "Asia/Tokyo")).Format("Monday 2 January")
	older := time.Now().Add(-72 * time.Hour).In(zone(t, "Asia/Tokyo")).Format("Monday 2 January")
	contains(t, "archive", page, "3 articles in the last 30 days", "<h2 id=\"day-", ">"+day+"</h2>", ">"+older+"</h2>", "Minsk museum reopens",
		`<a href="https://news.example/border" rel="noopener noreferrer">Belarus opens a border crossing</a>`,
		"<mark>Belarus</mark> reopened a crossing on Monday.",
		"Belarus &lt;script&gt;alert(1)&lt;/script&gt;", "<mark>Belarus</mark> &amp; &lt;img src=x onerror=alert(1)&gt; maps",
		"Wire &#34;&lt;b&gt;&#34;", "<code>belarus</code>")
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src") || strings.Contains(page, "Harbour weather") || strings.Contains(page, "Minsk zoo") {
		t.Errorf("archive carries markup or a story it should not:\n%s", page)
	}
	if i, j, k := strings.Index(page, "&lt;script&gt;"), strings.Index(page, "border crossing"), strings.Index(page, ">"+older+"</h2>"); i < 0 || j < i || k < j {
		t.Errorf("the archive is not newest first")
	}

	for _, path := range []string{delivery.ArchivePath(sub.ID, "wrong"), delivery.ArchivePath("mail:nobody", secret), "/archive/" + sub.ID + "/"} {
		code, page := s.get(t, s.base+path)
		if code != http.StatusNotFound || !strings.Contains(page, "There is no page at this address.") {
			t.Errorf("GET %s = %d:\n%s", path, code, page)
		}
	}

	// In Russian, the days are Russian.
	s.subs.Update(ctx, sub.ID, func(x *subscriptions.Subscriber) error { x.Lang = "ru"; return nil })
	_, page = s.get(t, s.base+delivery.ArchivePath(sub.ID, secret))
	contains(t, "archive in Russian", page, `<html lang="ru">`, "3 статьи за последние 30 дней, сначала новые.")
	ruDays := []string{"воскресенье", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота"}
	if !strings.Contains(page, ">"+ruDays[time.Now().In(zone(t, "Asia/Tokyo")).Weekday()]+", ") {
		t.Errorf("the day heading is not in Russian:\n%s", page)
	}
}

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
