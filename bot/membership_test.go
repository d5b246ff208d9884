package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

// noMissing fails when a language lacked one of the messages with these
// id prefixes that the test looked up.
func noMissing(t *testing.T, prefixes ...string) {
	t.Helper()
	for _, m := range locale.Missing() {
		_, id, _ := strings.Cut(m, ":")
		for _, p := range prefixes {
			if strings.HasPrefix(id, p) {
				t.Errorf("message %s is missing", m)
			}
		}
	}
}

// status waits until the chat's subscriber has this status.
func (c *convo) status(chat int64, want string) {
	c.t.Helper()
	waitUntil(c.t, func() bool {
		s, err := c.subs.Get(context.Background(), subscriptions.TelegramID(chat))
		return err == nil && s.Status == want
	})
}

// A user who blocks the bot gets no alert tried (not even one answered
// 403), and gets alerts again once they unblock it; a paused chat stays
// paused through both.
func TestBlockedChatStopsAndResumes(t *testing.T) {
	tap, log := newLogTap(t)
	c := newConvoLog(t, log)
	const me, other = 1101, 1102
	want(t, c.say(me, me, "/sub belarus"), "Following belarus")
	want(t, c.say(other, other, "/sub belarus"), "Following belarus")
	want(t, c.say(other, other, "/pause"), "Paused")

	c.srv.Block(me)
	c.srv.Block(other)
	tap.wait(t, 10*time.Second, "bot membership changed", 2)
	if got := c.sub(me).Status; got != subscriptions.StatusInactive {
		t.Fatalf("a chat that blocked the bot is %q, want inactive", got)
	}
	putArticle(t, c.st, "blk1", "Belarus closes a border crossing", "Belarus news.")
	enqueue(t, c.st, me, "blk1", "belarus")
	s := NewSender(c.st, c.subs, &APITransport{API: apiClient(t, c.srv)}, quietLog(t))
	runSender(t, s)
	waitAcked(t, c.st)
	if n := sendsTo(c.srv, me); n != 1 { // the reply to /sub only
		t.Fatalf("%d sends to a chat that blocked the bot, want only the reply before", n)
	}
	if got := c.sub(other).Status; got != subscriptions.StatusPaused {
		t.Fatalf("a paused chat that blocked the bot is %q, want still paused", got)
	}

	c.srv.Unblock(me)
	c.srv.Unblock(other)
	tap.wait(t, 10*time.Second, "bot membership changed", 4)
	if got := c.sub(me).Status; got != subscriptions.StatusActive {
		t.Fatalf("a chat that unblocked the bot is %q, want active", got)
	}
	if got := c.sub(other).Status; got != subscriptions.StatusPaused {
		t.Fatalf("a paused chat that unblocked the bot is %q, want still paused", got)
	}
	putArticle(t, c.st, "blk2", "Belarus opens it again", "Belarus news.")
	enqueue(t, c.st, me, "blk2", "belarus")
	got := c.srv.WaitSentTo(10*time.Second, me, 2)
	want(t, got[1], "Belarus opens it again")
}

// A group that adds the bot is told, in the adder's language, how to
// subscribe it with commands addressed to the bot; a group that removes it
// stops its alerts until it adds the bot back.
func TestGroupAddedGreetedRemovedStopped(t *testing.T) {
	tap, log := newLogTap(t)
	c := newConvoLog(t, log)
	const group, ruGroup, ruAdmin = -3001, -3002, 7
	c.srv.AddUser(telegramtest.User{ID: ruAdmin, FirstName: "Оля", LanguageCode: "ru"})
	for _, g := range []int64{group, ruGroup} {
		c.srv.AddChat(telegramtest.Chat{ID: g, Type: telegramtest.Supergroup, Title: "News <desk>"})
		c.srv.SetBotStatus(g, admin, telegramtest.BotLeft, false)
	}
	c.srv.SetAdmins(group, admin)
	c.srv.SetAdmins(ruGroup, ruAdmin)

	c.srv.SetBotStatus(group, admin, telegramtest.BotMember, true)
	hello := c.srv.WaitSentTo(10*time.Second, group, 1)[0]
	want(t, hello, "Herald", "/sub@herald_test_bot belarus", "/help@herald_test_bot", "@herald_test_bot right after each command")
	c.srv.SetBotStatus(ruGroup, ruAdmin, telegramtest.BotAdministrator, true)
	want(t, c.srv.WaitSentTo(10*time.Second, ruGroup, 1)[0], "Всем здравствуйте", "/sub@herald_test_bot беларусь")

	want(t, c.say(group, admin, "/sub@herald_test_bot minsk"), "Following minsk")
	c.srv.SetBotStatus(group, admin, telegramtest.BotLeft, false)
	c.status(group, subscriptions.StatusInactive)
	c.srv.SetBotStatus(group, admin, telegramtest.BotAdministrator, true)
	c.status(group, subscriptions.StatusActive)
	// Added back, the group is greeted again.
	want(t, c.srv.WaitSentTo(10*time.Second, group, 3)[2], "/sub@herald_test_bot belarus")

	// A group that follows topics already (as a group that became a
	// supergroup does) is not told again.
	const upgraded = -1003003
	c.srv.AddChat(telegramtest.Chat{ID: upgraded, Type: telegramtest.Supergroup})
	c.srv.SetBotStatus(upgraded, admin, telegramtest.BotLeft, false)
	seen := len(tap.wait(t, 10*time.Second, "bot membership changed", 7))
	addSub(t, c.subs, upgraded, "belarus")
	c.srv.SetBotStatus(upgraded, admin, telegramtest.BotMember, true)
	tap.wait(t, 10*time.Second, "bot membership changed", seen+1)
	if n := len(c.srv.SentTo(upgraded)); n != 0 {
		t.Fatalf("a group following topics was greeted (%d messages)", n)
	}
	noMissing(t, "botupd.group.")
}

// A channel that makes the bot an admin without the right to post gets no
// alerts until it grants the right; nothing is ever said in the channel.
func TestChannelRightsFollowed(t *testing.T) {
	c := newConvo(t, false)
	const channel = -1003004
	c.srv.AddChat(telegramtest.Chat{ID: channel, Type: telegramtest.Channel, Title: "Wire", Username: "wire_news"})
	c.srv.SetAdmins(channel, admin)
	want(t, c.say(admin, admin, "/sub @wire_news belarus"), "Following belarus for @wire_news")
	c.srv.SetBotStatus(channel, admin, telegramtest.BotAdministrator, false)
	c.status(channel, subscriptions.StatusInactive)
	c.srv.SetBotStatus(channel, admin, telegramtest.BotAdministrator, true)
	c.status(channel, subscriptions.StatusActive)
	if n := len(c.srv.SentTo(channel)); n != 0 {
		t.Fatalf("the bot posted %d messages in the channel about its rights", n)
	}
}

// "/sub @channel QUERY" from a private chat says which check failed.
func TestChannelSubscribeSaysWhy(t *testing.T) {
	c := newConvo(t, false)
	const channel, user, ruUser = -1003005, 8, 9
	c.srv.AddUser(telegramtest.User{ID: ruUser, FirstName: "Иван", LanguageCode: "ru"})
	c.srv.AddChat(telegramtest.Chat{ID: channel, Type: telegramtest.Channel, Title: "Desk", Username: "desk_news"})
	c.srv.AddChat(telegramtest.Chat{ID: 4242, Type: telegramtest.Private, Username: "some_person"})
	c.srv.SetAdmins(channel, admin, ruUser)

	want(t, c.say(user, user, "/sub @no_such_channel belarus"), "can't find @no_such_channel", "no channel by that name")
	want(t, c.say(ruUser, ruUser, "/sub @no_such_channel belarus"), "Не могу найти @no_such_channel")
	want(t, c.say(user, user, "/sub @some_person belarus"), "@some_person is a person")

	// Not in the channel at all.
	c.srv.SetBotStatus(channel, admin, telegramtest.BotLeft, false)
	want(t, c.say(admin, admin, "/sub @desk_news belarus"), "I am not an admin of @desk_news")
	want(t, c.say(ruUser, ruUser, "/sub @desk_news belarus"), "Я не администратор @desk_news")

	// An admin without the right to post: the sender is checked first.
	c.srv.SetBotStatus(channel, admin, telegramtest.BotAdministrator, false)
	want(t, c.say(user, user, "/sub @desk_news belarus"), "Only admins of @desk_news", "you are not one of them")
	want(t, c.say(ruUser, ruUser, "/sub @desk_news belarus"), "Я администратор @desk_news, но без права публиковать")
	want(t, c.say(admin, admin, "/sub @desk_news belarus"), "I am an admin of @desk_news, but without the right to post")

	c.srv.SetBotStatus(channel, admin, telegramtest.BotAdministrator, true)
	want(t, c.say(user, user, "/sub @desk_news belarus"), "Only admins of @desk_news")
	want(t, c.say(ruUser, ruUser, "/list @nope_channel"), "Не могу найти")
	want(t, c.say(admin, admin, "/sub @desk_news belarus"), "Following belarus for @desk_news")
	if s := c.sub(channel); len(s.Topics) != 1 {
		t.Fatalf("channel topics = %v", s.Topics)
	}
	noMissing(t, "botupd.channel.")
}

// An edited command is answered like a new one (an edited /sub follows the
// edited query, beside the first), and the same edit delivered again is
// answered once. An edit of plain text is not answered.
func TestEditedCommand(t *testing.T) {
	c := newConvo(t, true) // the webhook: where Telegram repeats an update
	const me = 1201
	n := len(c.srv.SentTo(me))
	id := c.srv.SendText(me, me, "/sub belarus")
	want(t, c.srv.WaitSentTo(10*time.Second, me, n+1)[n], "Following belarus")
	up := c.srv.EditText(me, me, id, "/sub belarus OR minsk")
	want(t, c.srv.WaitSentTo(10*time.Second, me, n+2)[n+1], "Following belarus OR minsk")
	if !c.srv.Redeliver(up) {
		t.Fatal("no update to deliver again")
	}
	chat := c.srv.SendText(me, me, "just words")
	c.srv.EditText(me, me, chat, "just other words")
	// The /list reply is the next message: neither the repeated edit nor
	// the edited chatter got one before it.
	c.srv.SendText(me, me, "/list")
	got := c.srv.WaitSentTo(10*time.Second, me, n+4)
	want(t, got[n+2], "Subscribe to just words?")
	want(t, got[n+3], "1. belarus", "2. belarus OR minsk")
	if s := c.sub(me); len(s.Topics) != 2 {
		t.Fatalf("topics = %v, want the first and the edited query", s.Topics)
	}

	// In a group, an edit that addresses the bot is answered too.
	const group = -3101
	c.srv.AddChat(telegramtest.Chat{ID: group, Type: telegramtest.Supergroup})
	c.srv.SetAdmins(group, admin)
	gid := c.srv.SendText(group, admin, "/sub@herald_test_bot drones")
	want(t, c.srv.WaitSentTo(10*time.Second, group, 1)[0], "Following drones")
	c.srv.EditText(group, admin, gid, "/sub@herald_test_bot drones OR uav")
	want(t, c.srv.WaitSentTo(10*time.Second, group, 2)[1], "Following drones OR uav")
}

// A channel that took the bot's right to post answers 400 "need
// administrator rights": the sender deactivates it as it does on a 403,
// whether or not the bot heard of the change.
func TestSenderDeactivatesAChannelWithoutPostRight(t *testing.T) {
	st := storetest.New(t)
	subs := subscriptions.NewStore(st)
	srv := telegramtest.New(t, telegramtest.WithLimits(telegramtest.NoLimits))
	const channel = -1003006
	srv.AddChat(telegramtest.Chat{ID: channel, Type: telegramtest.Channel, Username: "no_rights"})
	srv.SetBotStatus(channel, admin, telegramtest.BotAdministrator, false)
	addSub(t, subs, channel, "belarus")
	putArticle(t, st, "np1", "Belarus news", "Belarus.")
	enqueue(t, st, channel, "np1", "belarus")
	runSender(t, NewSender(st, subs, &APITransport{API: apiClient(t, srv)}, quietLog(t)))
	waitAcked(t, st)
	s, err := subs.Get(context.Background(), subscriptions.TelegramID(channel))
	if err != nil || s.Status != subscriptions.StatusInactive {
		t.Fatalf("channel without the right to post: %+v %v, want inactive", s, err)
	}
	if n := sendsTo(srv, channel); n != 1 {
		t.Fatalf("%d sends to the channel, want the one refused", n)
	}
}
