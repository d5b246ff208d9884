package bot

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

// waitLog stands in for the clock of retry_after waits: it records each
// wait and returns at once.
type waitLog struct {
	mu  sync.Mutex
	got []time.Duration
}

func (w *waitLog) wait(ctx context.Context, d time.Duration) bool {
	w.mu.Lock()
	w.got = append(w.got, d)
	w.mu.Unlock()
	return ctx.Err() == nil
}

func (w *waitLog) waits() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.got)
}

func TestReplyWaitsOutRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name      string
		after     []int // retry_after of each 429, in seconds
		sent      bool
		wantWaits []time.Duration
	}{
		{name: "above 10 s", after: []int{30}, sent: true, wantWaits: []time.Duration{30 * time.Second}},
		{name: "twice, within the bound", after: []int{25, 30}, sent: true, wantWaits: []time.Duration{25 * time.Second, 30 * time.Second}},
		{name: "beyond the bound", after: []int{3600}, sent: false},
		{name: "beyond the bound together", after: []int{40, 40}, sent: false, wantWaits: []time.Duration{40 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := storetest.New(t)
			srv := telegramtest.New(t, telegramtest.WithLimits(telegramtest.NoLimits), telegramtest.WithMaxPollWait(time.Second))
			const me = 1001
			w := &waitLog{}
			p := startPoller(t, srv, st, "a", time.Minute, func(b *Bot) { b.retryWait = w.wait })
			srv.WaitUntil(10*time.Second, srv.Polling)
			for _, s := range tc.after {
				srv.AddFault(telegramtest.Fault{Method: "sendMessage", Times: 1, Status: 429, RetryAfter: s})
			}
			srv.SendText(me, me, "/start")
			if tc.sent {
				want(t, srv.WaitSentTo(10*time.Second, me, 1)[0], "Herald")
			} else {
				got := p.logs.wait(t, 10*time.Second, "reply dropped: Telegram asks to wait longer than a reply waits", 1)
				if got[0].Attrs["chat_id"] != strconv.Itoa(me) {
					t.Fatalf("drop logged as %v", got[0].Attrs)
				}
				if n := len(srv.SentTo(me)); n != 0 {
					t.Fatalf("%d messages sent after the drop", n)
				}
			}
			if got := w.waits(); !slices.Equal(got, tc.wantWaits) {
				t.Fatalf("waited %v, want %v", got, tc.wantWaits)
			}
			if n := srv.Requests("sendMessage"); n != len(tc.wantWaits)+1 {
				t.Fatalf("%d sendMessage requests, want %d", n, len(tc.wantWaits)+1)
			}
		})
	}
}

// sendsTo counts the sendMessage requests addressed to chat.
func sendsTo(srv *telegramtest.Server, chat int64) int {
	n := 0
	for _, c := range srv.Calls() {
		if c.Method == "sendMessage" && c.Params["chat_id"] == strconv.FormatInt(chat, 10) {
			n++
		}
	}
	return n
}

func TestReplyFollowsMigratedGroup(t *testing.T) {
	st := storetest.New(t)
	subs := subscriptions.NewStore(st)
	ctx := context.Background()
	srv := telegramtest.New(t, telegramtest.WithLimits(telegramtest.NoLimits), telegramtest.WithMaxPollWait(time.Second))
	const group, super, member = -2001, -1002001, 6
	srv.AddChat(telegramtest.Chat{ID: group, Type: telegramtest.Group, Title: "Newsroom chat"})
	if err := subs.Put(ctx, &subscriptions.Subscriber{ID: subscriptions.TelegramID(group), Kind: subscriptions.KindTelegram,
		ChatID: group, Status: subscriptions.StatusActive, Topics: []string{"belarus"}}); err != nil {
		t.Fatal(err)
	}
	// The command was sent before the upgrade; the bot reads it after.
	srv.SendText(group, member, "/start@herald_test_bot")
	srv.MigrateUnannounced(group, super)
	startPoller(t, srv, st, "a", time.Minute)

	want(t, srv.WaitSentTo(10*time.Second, super, 1)[0], "Herald")
	if to, err := st.Redis.Get(ctx, MovedKey(st, group)).Int64(); err != nil || to != super {
		t.Fatalf("moved key = %d, %v; want %d", to, err, super)
	}
	if s, err := subs.Get(ctx, subscriptions.TelegramID(super)); err != nil || s.ChatID != super || !slices.Equal(s.Topics, []string{"belarus"}) {
		t.Fatalf("the supergroup's subscriber: %+v, %v", s, err)
	}
	if _, err := subs.Get(ctx, subscriptions.TelegramID(group)); err == nil {
		t.Fatal("the old group's subscriber is still there")
	}
	if n := sendsTo(srv, group); n != 1 {
		t.Fatalf("%d sends to the old group, want the one that learnt of the move", n)
	}

	// Another command that left the old group before the upgrade: its
	// reply goes straight to the supergroup.
	srv.QueueUpdate("message", map[string]any{
		"message_id": 99, "date": time.Now().Unix(), "text": "/help@herald_test_bot",
		"chat": map[string]any{"id": group, "type": "group", "title": "Newsroom chat"},
		"from": map[string]any{"id": member, "is_bot": false, "first_name": fmt.Sprint("User", member)},
	})
	srv.WaitSentTo(10*time.Second, super, 2)
	if n := sendsTo(srv, group); n != 1 {
		t.Fatalf("%d sends to the old group after the move was known, want 1", n)
	}
}

func TestFailedAdminCheckIsLogged(t *testing.T) {
	st := storetest.New(t)
	srv := telegramtest.New(t, telegramtest.WithLimits(telegramtest.NoLimits), telegramtest.WithMaxPollWait(time.Second))
	const group = -2001
	srv.AddChat(telegramtest.Chat{ID: group, Type: telegramtest.Supergroup, Title: "Newsroom chat"})
	srv.SetAdmins(group, admin)
	p := startPoller(t, srv, st, "a", time.Minute)
	srv.WaitUntil(10*time.Second, srv.Polling)

	srv.FailNext("getChatMember", 1, 500)
	srv.SendText(group, admin, "/sub@herald_test_bot belarus")
	want(t, srv.WaitSentTo(10*time.Second, group, 1)[0], "Only the group's admins")
	got := p.logs.find("cannot check admin rights; taking the user for no admin")
	if len(got) != 1 || got[0].Attrs["chat_id"] != strconv.Itoa(group) || got[0].Attrs["err"] == "" {
		t.Fatalf("admin check failure logged as %v", got)
	}

	// With Telegram answering again, the same admin gets through.
	srv.SendText(group, admin, "/sub@herald_test_bot belarus")
	want(t, srv.WaitSentTo(10*time.Second, group, 2)[1], "Following belarus")
}
