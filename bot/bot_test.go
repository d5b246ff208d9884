package bot

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

// fakeFeeds is the watcher as the admin commands see it.
type fakeFeeds struct {
	feeds []*Feed
}

var _ Feeds = (*fakeFeeds)(nil)

func (f *fakeFeeds) Add(_ context.Context, u string, _ time.Duration, _ int) (*Feed, error) {
	if !strings.HasPrefix(u, "http") {
		return nil, errors.New("not an http(s) URL")
	}
	fd := &Feed{URL: u}
	f.feeds = append(f.feeds, fd)
	return fd, nil
}

func (f *fakeFeeds) Remove(_ context.Context, u string) error {
	n := len(f.feeds)
	f.feeds = slices.DeleteFunc(f.feeds, func(x *Feed) bool { return x.URL == u })
	if len(f.feeds) == n {
		return ErrNoFeed
	}
	return nil
}

func (f *fakeFeeds) List(context.Context) ([]*Feed, error) { return f.feeds, nil }

// fakeLinker records /email requests.
type fakeLinker struct{ got, lang []string }

func (f *fakeLinker) LinkEmail(_ context.Context, chat *subscriptions.Subscriber, addr string) error {
	f.got = append(f.got, chat.ID+" "+addr)
	f.lang = append(f.lang, chat.Lang)
	return nil
}

const admin = 5

type convo struct {
	t    *testing.T
	srv  *telegramtest.Server
	st   *store.Store
	subs *subscriptions.Store
	bot  *Bot
}

func newConvo(t *testing.T, webhook bool) *convo {
	t.Helper()
	return newConvoWith(t, webhook, quietLog(t))
}

// newConvoLog is newConvo (polling) with the bot logging to log.
func newConvoLog(t *testing.T, log *slog.Logger) *convo {
	t.Helper()
	return newConvoWith(t, false, log)
}

func newConvoWith(t *testing.T, webhook bool, log *slog.Logger) *convo {
	t.Helper()
	st := storetest.New(t)
	subs := subscriptions.NewStore(st)
	srv := telegramtest.New(t, telegramtest.WithLimits(telegramtest.NoLimits), telegramtest.WithMaxPollWait(time.Second))
	b, err := New(srv.Token, srv.URL, st, subs, []int64{admin}, log)
	if err != nil {
		t.Fatal(err)
	}
	b.Feeds = &fakeFeeds{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	if webhook {
		b.WebhookSecret = "s3cret-token"
		hook := httptest.NewServer(b.WebhookHandler())
		t.Cleanup(hook.Close)
		b.WebhookURL = hook.URL + "/telegram"
	}
	go func() { b.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	srv.WaitUntil(10*time.Second, func() bool { return len(srv.Commands()) > 0 })
	return &convo{t: t, srv: srv, st: st, subs: subs, bot: b}
}

// say sends text as user from in chat and returns the bot's reply.
func (c *convo) say(chat, from int64, text string) telegramtest.Message {
	c.t.Helper()
	n := len(c.srv.SentTo(chat))
	c.srv.SendText(chat, from, text)
	return c.srv.WaitSentTo(10*time.Second, chat, n+1)[n]
}

// press presses a button of a bot message and returns the message after
// the bot edited it (or the same message if it did not).
func (c *convo) press(chat, from int64, m telegramtest.Message, label string) telegramtest.Message {
	c.t.Helper()
	btn, ok := m.Button(label)
	if !ok {
		c.t.Fatalf("no %q button on %q: %+v", label, m.Plain, m.Buttons())
	}
	answers := len(c.srv.Answers())
	c.srv.PressButton(chat, from, m.MessageID, btn.CallbackData)
	c.srv.WaitUntil(10*time.Second, func() bool { return len(c.srv.Answers()) > answers })
	cur, _ := c.srv.Current(chat, m.MessageID)
	return cur
}

func (c *convo) sub(chat int64) *subscriptions.Subscriber {
	c.t.Helper()
	s, err := c.subs.Get(context.Background(), subscriptions.TelegramID(chat))
	if err != nil {
		c.t.Fatalf("subscriber of %d: %v", chat, err)
	}
	return s
}

func want(t *testing.T, m telegramtest.Message, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(m.Plain, p) {
			t.Fatalf("reply %q lacks %q", m.Plain, p)
		}
	}
}

func TestPrivateConversation(t *testing.T) {
	c := newConvo(t, false)
	const me = 1001
	ctx := context.Background()

	if cmds := c.srv.Commands(); !slices.ContainsFunc(cmds, func(x telegramtest.Command) bool { return x.Command == "preview" }) {
		t.Fatalf("command menu = %+v", cmds)
	}
	start := c.say(me, me, "/start")
	want(t, start, "Herald", "/sub")
	if r := c.press(me, me, start, "belarus"); len(c.srv.SentTo(me)) < 2 {
		t.Fatalf("example button: %q", r.Plain)
	}
	want(t, c.srv.SentTo(me)[1], "Following belarus")

	want(t, c.say(me, me, `/sub "military cooperation" iran -israel`), "Following")
	want(t, c.say(me, me, "/subscribe (belarus"), "can't be used")
	want(t, c.say(me, me, "/sub belarus"), "Already following")

	offer := c.say(me, me, "minsk OR <b>vitebsk</b>")
	want(t, offer, "Subscribe to")
	if strings.Contains(offer.Text, "<b>vitebsk") {
		t.Fatalf("offer did not escape the text: %s", offer.Text)
	}
	want(t, c.press(me, me, offer, "Subscribe"), "Following")
	if n := len(c.sub(me).Topics); n != 3 {
		t.Fatalf("topics = %v", c.sub(me).Topics)
	}

	list := c.say(me, me, "/list")
	want(t, list, "1. belarus", "2. ")
	list = c.press(me, me, list, "Mute 1")
	want(t, list, "(muted)")
	if m := c.sub(me).Muted; len(m) != 1 || m[0] != "belarus" {
		t.Fatalf("muted = %v", m)
	}
	list = c.press(me, me, list, "Unmute 1")
	if len(c.sub(me).Muted) != 0 || strings.Contains(list.Plain, "muted") {
		t.Fatalf("unmute: %q %v", list.Plain, c.sub(me).Muted)
	}
	list = c.press(me, me, list, "Remove 3")
	if n := len(c.sub(me).Topics); n != 2 {
		t.Fatalf("after remove: %v", c.sub(me).Topics)
	}

	// Preview over the recent-articles window.
	putArticle(t, c.st, "p1", "Belarus opens a border crossing", "Belarus said on Monday…")
	putArticle(t, c.st, "p2", "Weather in Lisbon", "Sunny.")
	c.st.Redis.ZAdd(ctx, articles.RecentKey(c.st), redis.Z{Score: 1, Member: "p1"}, redis.Z{Score: 2, Member: "p2"})
	pv := c.say(me, me, "/preview belarus")
	want(t, pv, "1 of the last 2 articles match", "Belarus opens a border crossing")
	want(t, c.say(me, me, "/preview -x"), "can't be used")

	want(t, c.say(me, me, "/unsubscribe 9"), "no topic number 9")
	want(t, c.say(me, me, "/unsubscribe 2"), "Stopped")
	want(t, c.say(me, me, "/unsubscribe BELARUS"), "Stopped belarus")
	want(t, c.say(me, me, "/unsubscribe nothing"), "don't follow")
	c.say(me, me, "/sub iran")
	want(t, c.say(me, me, "/unsubscribe all"), "Stopped every topic")

	p := c.say(me, me, "/pause 2h")
	want(t, p, "Paused until")
	if s := c.sub(me); s.Status != subscriptions.StatusActive || time.Until(s.PausedUntil) < time.Hour {
		t.Fatalf("timed pause: %+v", s)
	}
	want(t, c.press(me, me, p, "Resume"), "on again")
	if s := c.sub(me); !s.PausedUntil.IsZero() {
		t.Fatalf("resume left %v", s.PausedUntil)
	}
	want(t, c.say(me, me, "/pause"), "until /resume")
	if s := c.sub(me); s.Status != subscriptions.StatusPaused {
		t.Fatalf("status = %s", s.Status)
	}
	want(t, c.say(me, me, "/pause soon"), "not a duration")
	want(t, c.say(me, me, "/resume"), "on again")

	want(t, c.say(me, me, "/mode daily 7"), "once a day at 07:00")
	if s := c.sub(me); s.Frequency != ModeDaily || s.Hour != 7 {
		t.Fatalf("mode: %+v", s)
	}
	m := c.say(me, me, "/mode")
	want(t, c.press(me, me, m, "Hourly"), "once an hour")
	want(t, c.say(me, me, "/mode weekly"), "Modes are")

	want(t, c.say(me, me, "/quiet 25:00-07:00"), "not a time")
	want(t, c.say(me, me, "/quiet 22:00-07:00"), "Quiet hours: 22:00-07:00")
	want(t, c.say(me, me, "/timezone Europe/Vilnius"), "Europe/Vilnius")
	want(t, c.say(me, me, "/timezone Mars/Olympus"), "don't know")
	if s := c.sub(me); s.Quiet != "22:00-07:00" || s.TZ != "Europe/Vilnius" {
		t.Fatalf("quiet/tz: %+v", s)
	}

	want(t, c.say(me, me, "/email reader@example.org"), "off")
	l := &fakeLinker{}
	c.bot.Email = l
	want(t, c.say(me, me, "/email not-an-address"), "Give an email address")
	want(t, c.say(me, me, "/email reader@example.org"), "confirmation link")
	if len(l.got) != 1 || l.got[0] != "tg:1001 reader@example.org" {
		t.Fatalf("linker got %v", l.got)
	}

	// Admin commands: refused to others.
	want(t, c.say(me, me, "/feeds"), "for Herald's admins")
	want(t, c.say(admin, admin, "/addfeed https://example.org/feed.xml"), "Watching https://example.org/feed.xml")
	want(t, c.say(admin, admin, "/feeds"), "1 feed\n", "example.org/feed.xml")
	want(t, c.say(admin, admin, "/removefeed https://example.org/feed.xml"), "Stopped watching")
	want(t, c.say(admin, admin, "/removefeed https://example.org/feed.xml"), "not watched")
	want(t, c.say(admin, admin, "/stats"), "telegram active")
	want(t, c.say(me, me, "/stats"), "for Herald's admins")
	want(t, c.say(me, me, "/frobnicate"), "don't know /frobnicate")

	// Held alerts go with /forget.
	c.st.Redis.RPush(ctx, HeldKey(c.st, "tg:1001"), `{"a":"p1","t":"belarus"}`)
	c.st.Redis.ZAdd(ctx, DueKey(c.st, "tg:1001"), redis.Z{Score: 1, Member: "tg:1001"})
	f := c.say(me, me, "/forget")
	want(t, c.press(me, me, f, "Delete everything"), "deleted")
	if _, err := c.subs.Get(ctx, "tg:1001"); !errors.Is(err, subscriptions.ErrNotFound) {
		t.Fatalf("after /forget: %v", err)
	}
	if n, _ := c.st.Redis.Exists(ctx, HeldKey(c.st, "tg:1001")).Result(); n != 0 {
		t.Fatal("held alerts survived /forget")
	}
}

func TestGroupConversation(t *testing.T) {
	c := newConvo(t, false)
	const group, member = -2001, 6
	c.srv.AddChat(telegramtest.Chat{ID: group, Type: telegramtest.Supergroup, Title: "Newsroom chat"})
	c.srv.SetAdmins(group, admin)

	want(t, c.say(group, member, "/start@herald_test_bot"), "Herald")
	want(t, c.say(group, member, "/sub@herald_test_bot belarus"), "Only the group's admins")
	want(t, c.say(group, admin, "/sub@herald_test_bot belarus"), "Following belarus")
	// Privacy mode: chatter and commands to other bots never reach us.
	n := len(c.srv.SentTo(group))
	c.srv.SendText(group, member, "belarus is in the news")
	c.srv.SendText(group, admin, "/list@other_bot")
	list := c.say(group, member, "/list@herald_test_bot")
	if len(c.srv.SentTo(group)) != n+1 {
		t.Fatalf("the bot answered chatter or another bot's command")
	}
	want(t, list, "1. belarus")
	// A member's press of a button is refused; an admin's works.
	btn, _ := list.Button("Mute 1")
	answers := len(c.srv.Answers())
	c.srv.PressButton(group, member, list.MessageID, btn.CallbackData)
	c.srv.WaitUntil(10*time.Second, func() bool { return len(c.srv.Answers()) > answers })
	if a := c.srv.Answers(); !strings.Contains(a[len(a)-1].Text, "Only admins") || len(c.sub(group).Muted) != 0 {
		t.Fatalf("member muted a group topic: %+v", a[len(a)-1])
	}
	want(t, c.press(group, admin, list, "Mute 1"), "(muted)")
	want(t, c.say(group, admin, "/mode@herald_test_bot hourly"), "once an hour")
	want(t, c.say(group, admin, "/pause@herald_test_bot 30m"), "Paused")
	want(t, c.say(group, admin, "/resume@herald_test_bot"), "on again")
	want(t, c.say(group, admin, "/unsubscribe@herald_test_bot 1"), "Stopped belarus")
}

func TestChannelConversation(t *testing.T) {
	c := newConvo(t, true) // and through the webhook
	const channel, other = -1003, 6
	c.srv.AddChat(telegramtest.Chat{ID: channel, Type: telegramtest.Channel, Title: "Newsroom", Username: "newsroom"})
	c.srv.SetAdmins(channel, admin)
	if u, secret := c.srv.Webhook(); u == "" || secret != "s3cret-token" {
		t.Fatalf("webhook = %q %q", u, secret)
	}

	want(t, c.say(other, other, "/sub @newsroom belarus"), "Only admins of @newsroom")
	want(t, c.say(admin, admin, "/sub @nosuchchannel belarus"), "can't find")
	want(t, c.say(admin, admin, "/sub @newsroom belarus"), "Following belarus for @newsroom")
	if s := c.sub(channel); s.ChatID != channel || len(s.Topics) != 1 {
		t.Fatalf("channel subscriber = %+v", s)
	}
	if _, err := c.subs.Get(context.Background(), "tg:5"); err == nil {
		if s := c.sub(admin); len(s.Topics) != 0 {
			t.Fatalf("the admin's own chat got the channel's topic")
		}
	}
	list := c.say(admin, admin, "/list @newsroom")
	want(t, list, "Topics for @newsroom", "1. belarus")
	want(t, c.press(admin, admin, list, "Mute 1"), "(muted)")
	want(t, c.say(admin, admin, "/mode @newsroom daily"), "once a day")
	want(t, c.say(admin, admin, "/quiet @newsroom 23:00-06:00"), "23:00-06:00")
	// A command posted in the channel itself (only admins can post).
	want(t, c.say(channel, 0, "/sub minsk"), "Following minsk")
	want(t, c.say(admin, admin, "/unsubscribe @newsroom all"), "Stopped every topic for @newsroom")

	// The webhook refuses a request without the secret.
	status, err := telegramtest.PostUpdate(context.Background(), c.bot.WebhookURL, "wrong", map[string]any{"update_id": 1})
	if err != nil || status != 403 {
		t.Fatalf("webhook without the secret: %d %v", status, err)
	}
}
