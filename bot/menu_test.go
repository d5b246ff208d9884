package bot

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

func names(cmds []telegramtest.Command) []string {
	out := make([]string, len(cmds))
	for i, c := range cmds {
		out[i] = c.Command
	}
	return out
}

// The default menu lists each command once; each admin's chat has the
// admin commands too; a menu Telegram refuses at first is set on retry.
func TestCommandMenus(t *testing.T) {
	st := storetest.New(t)
	srv := telegramtest.New(t, telegramtest.WithLimits(telegramtest.NoLimits), telegramtest.WithMaxPollWait(time.Second))
	srv.FailNext("setMyCommands", 2, 500)
	b, err := New(srv.Token, srv.URL, st, subscriptions.NewStore(st), []int64{admin, 6}, quietLog(t))
	if err != nil {
		t.Fatal(err)
	}
	b.menuBackoff = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	srv.WaitUntil(10*time.Second, func() bool { return len(srv.CommandsFor("chat:6", "")) > 0 })

	srv.WaitUntil(10*time.Second, func() bool { return len(srv.CommandsFor("chat:6", "ru")) > 0 })
	// Two refused, then in each language the default menu and one per admin.
	if n := srv.Requests("setMyCommands"); n != 2+2*3 {
		t.Errorf("setMyCommands asked %d times, want 8", n)
	}
	def := names(srv.Commands())
	for _, alias := range []string{"subscribe", "unsub", "tz"} {
		if slices.Contains(def, alias) {
			t.Errorf("default menu lists the alias /%s: %v", alias, def)
		}
	}
	for _, c := range def {
		if slices.Contains(adminCommands, c) {
			t.Errorf("default menu lists the admin command /%s", c)
		}
		if _, ok := handlers[c]; !ok {
			t.Errorf("menu lists /%s, which nothing handles", c)
		}
	}
	for _, c := range []string{"start", "help", "sub", "list", "unsubscribe", "preview", "pause", "resume", "mode", "quiet", "timezone", "email", "forget"} {
		if !slices.Contains(def, c) {
			t.Errorf("default menu lacks /%s: %v", c, def)
		}
	}
	for _, chat := range []string{"chat:5", "chat:6"} {
		got := names(srv.CommandsFor(chat, ""))
		for _, c := range append([]string{"sub", "list"}, adminCommands...) {
			if !slices.Contains(got, c) {
				t.Errorf("%s menu lacks /%s: %v", chat, c, got)
			}
		}
	}
}
