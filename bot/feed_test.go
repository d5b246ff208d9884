package bot

import (
	"strings"
	"testing"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/subscriptions"
)

func TestFeedCommandGivesTheChatsFeedAndRenewsIt(t *testing.T) {
	c := newConvo(t, false)
	const me = 1001
	want(t, c.say(me, me, "/feed"), "no public web address")
	c.bot.PublicURL = "https://herald.example/"
	first := c.say(me, me, "/feed")
	sub := c.sub(me)
	url := feedURLIn(t, first)
	secret := url[strings.LastIndexByte(url, '/')+1:]
	if !strings.HasPrefix(url, "https://herald.example/feed/tg:1001/") || !delivery.FeedSecretOK(sub, secret) {
		t.Fatalf("reply %q gives %q, which does not open the chat's feed", first.Plain, url)
	}
	if again := feedURLIn(t, c.say(me, me, "/feed")); again != url {
		t.Fatalf("a second /feed changed the address: %s, then %s", url, again)
	}
	fresh := feedURLIn(t, c.say(me, me, "/feed new"))
	if fresh == url || delivery.FeedSecretOK(c.sub(me), secret) {
		t.Fatalf("/feed new kept the old address working: %s, then %s", url, fresh)
	}

	// In a group the address is an admin's to ask for.
	const group, member = -2001, 6
	c.srv.AddChat(telegramtest.Chat{ID: group, Type: telegramtest.Supergroup, Title: "Newsroom chat"})
	c.srv.SetAdmins(group, admin)
	want(t, c.say(group, member, "/feed@herald_test_bot"), "Only the group's admins")
	if u := feedURLIn(t, c.say(group, admin, "/feed@herald_test_bot")); !strings.Contains(u, "/feed/"+subscriptions.TelegramID(group)+"/") {
		t.Fatalf("group feed %q", u)
	}
}

func feedURLIn(t *testing.T, m telegramtest.Message) string {
	t.Helper()
	for _, f := range strings.Fields(m.Plain) {
		if strings.HasPrefix(f, "https://herald.example/feed/") {
			return f
		}
	}
	t.Fatalf("no feed address in %q", m.Plain)
	return ""
}
