package bot

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/subscriptions"
)

// archiveURLIn is the archive address in a reply.
func archiveURLIn(t *testing.T, m telegramtest.Message) string {
	t.Helper()
	for _, f := range strings.Fields(m.Plain) {
		if strings.HasPrefix(f, "https://herald.example/archive/") {
			return f
		}
	}
	t.Fatalf("no archive address in %q", m.Plain)
	return ""
}

func TestArchiveCommandLinksTheChatsArchive(t *testing.T) {
	c := newConvo(t, false)
	const me, ru = 1301, 1302
	c.srv.AddUser(telegramtest.User{ID: ru, FirstName: "Анна", LanguageCode: "ru"})
	want(t, c.say(me, me, "/archive"), "no public web address")
	want(t, c.say(ru, ru, "/archive"), "нет публичного веб-адреса")
	c.bot.PublicURL = "https://herald.example/"

	got := c.say(me, me, "/archive")
	want(t, got, "in the last 30 days", "/feed new replaces it")
	u := archiveURLIn(t, got)
	secret := u[strings.LastIndexByte(u, '/')+1:]
	if u != delivery.ArchiveURL("https://herald.example", "tg:1301", secret) || !delivery.FeedSecretOK(c.sub(me), secret) {
		t.Fatalf("reply %q gives %q, which does not open the chat's archive", got.Plain, u)
	}
	// One secret for the feed and the archive: /feed new replaces both.
	feedNew := c.say(me, me, "/feed new")
	if again := archiveURLIn(t, c.say(me, me, "/archive")); again == u || !strings.Contains(feedNew.Plain, again[strings.LastIndexByte(again, '/'):]) {
		t.Fatalf("after /feed new the archive is %q (was %q), feed %q", again, u, feedNew.Plain)
	}

	// The language: the user's app, then the one the chat chose.
	want(t, c.say(ru, ru, "/archive"), "Статьи по вашим темам за последние 30 дней", "/feed new заменит")
	if _, err := c.subs.Update(context.Background(), subscriptions.TelegramID(me), func(s *subscriptions.Subscriber) error {
		s.Lang = "ru"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want(t, c.say(me, me, "/archive"), "за последние 30 дней")

	// A channel's, from a private chat; a group's, for its admins only.
	const channel, group, member = -1003301, -3301, 6
	c.srv.AddChat(telegramtest.Chat{ID: channel, Type: telegramtest.Channel, Title: "Wire", Username: "wire_arch"})
	c.srv.SetAdmins(channel, admin)
	ch := c.say(admin, admin, "/archive @wire_arch")
	want(t, ch, "the topics of @wire_arch in the last 30 days")
	if !strings.Contains(archiveURLIn(t, ch), "/archive/"+subscriptions.TelegramID(channel)+"/") {
		t.Fatalf("channel archive %q", ch.Plain)
	}
	// Posted in the channel itself, the address is not given.
	in := c.say(channel, 0, "/archive")
	want(t, in, "everyone who reads the channel", "/archive @wire_arch")
	if strings.Contains(in.Plain, "https://") {
		t.Fatalf("the archive address was posted in the channel: %q", in.Plain)
	}
	// The feed's address, which opens the same secret, likewise.
	in = c.say(channel, 0, "/feed")
	want(t, in, "everyone who reads the channel", "/feed @wire_arch")
	if strings.Contains(in.Plain, "https://") {
		t.Fatalf("the feed address was posted in the channel: %q", in.Plain)
	}
	c.srv.AddChat(telegramtest.Chat{ID: group, Type: telegramtest.Supergroup})
	c.srv.SetAdmins(group, admin)
	want(t, c.say(group, member, "/archive@herald_test_bot"), "Only the group's admins")
	if u := archiveURLIn(t, c.say(group, admin, "/archive@herald_test_bot")); !strings.Contains(u, "/archive/"+subscriptions.TelegramID(group)+"/") {
		t.Fatalf("group archive %q", u)
	}

	// /help and the command menu list it; the menu's text exists in
	// every language.
	want(t, c.say(me, me, "/help"), "/archive")
	if !slices.ContainsFunc(c.srv.Commands(), func(cmd telegramtest.Command) bool { return cmd.Command == "archive" }) {
		t.Fatalf("the command menu lacks /archive: %v", names(c.srv.Commands()))
	}
	for _, l := range locale.Langs {
		if d := locale.For(l).T("menu.archive"); d == "" || strings.HasPrefix(d, "[") || len(d) > 256 {
			t.Errorf("%s menu.archive = %q", l, d)
		}
	}
	noMissing(t, "botupd.", "menu.archive")
}
