package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/subscriptions"
)

// TestManageExplains: the manage page previews the reader's topics, says
// which topics just saved were rewritten and why, links the archive and
// keeps the Unsubscribe card; its language choice is stored.
func TestManageExplains(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	s.subs.Put(ctx, &subscriptions.Subscriber{ID: "mail:explain", Kind: subscriptions.KindEmail, Email: "explain@example.org",
		Status: subscriptions.StatusActive, Topics: []string{"belarus"}, Frequency: "daily", Hour: 8, TZ: "UTC"})
	s.publish(t, "border", "Belarus opens a border crossing", "Belarus reopened a crossing.")
	manage := s.m.Link("/manage", "manage", "mail:explain", time.Hour)
	_, page := s.get(t, manage)
	secret, _ := delivery.FeedSecret(ctx, s.subs, "mail:explain")
	contains(t, "manage page", page, "<code>belarus</code> — 1 article this week", "Belarus opens a border crossing",
		`<a href="`+delivery.ArchivePath("mail:explain", secret)+`">Everything your topics matched in the last 30 days</a>`,
		`value="unsubscribe" class="danger">Unsubscribe</button>`, `<select id="lang" name="lang">`, `<option value="en" lang="en" selected>English</option>`)

	code, page := s.post(t, manage, url.Values{"csrf": {hidden(t, page)}, "action": {"save"}, "topics": {"belarus\nIran & drones\nMinsk"},
		"frequency": {"daily"}, "hour": {"8"}, "tz": {"UTC"}, "lang": {"ru"}})
	if code != 200 {
		t.Fatalf("save = %d:\n%s", code, page)
	}
	// Saved in Russian, the page answers in Russian.
	contains(t, "saved page", page, `<html lang="ru">`, "Сохранено.",
		"Вы написали Iran &amp; drones, а сохранится drones iran: знаки вроде &amp; не ищутся; регистр не важен.",
		"Вы написали Minsk, а сохранится minsk: регистр не важен")
	if strings.Contains(page, "Вы написали belarus") {
		t.Errorf("a topic kept as typed is said to be rewritten")
	}
	got, _ := s.subs.Get(ctx, "mail:explain")
	if got.Lang != "ru" || strings.Join(got.Topics, ",") != "belarus,drones iran,minsk" {
		t.Errorf("after saving: lang %q topics %q", got.Lang, got.Topics)
	}
	// The reader's language holds when the manage link is opened again.
	_, page = s.get(t, manage)
	contains(t, "manage page in Russian", page, `<html lang="ru">`, "Ваша сводка", `<option value="ru" lang="ru" selected>Русский</option>`)
}
