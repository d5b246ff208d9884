//go:build faults

package faults

import (
	"fmt"
	"testing"
	"time"

	"github.com/herald-news/herald/bot/telegramtest"
)

// TestShutdown sends SIGTERM to a sender in the middle of a fan-out: it
// exits 0 within 10 s, and what it held is finished or handed back, so a
// process started afterwards completes the fan-out with at most the one
// message in flight repeated.
func TestShutdown(t *testing.T) {
	needRedis(t)
	rd := startRedis(t)
	st := rd.Store(t)
	tg := telegramtest.New(t, telegramtest.WithAutoChats(), telegramtest.WithLimits(noisyLimits))
	site := newNewsSite(t)
	chats, _ := seed(t, st, "drought", 3001, 300, 0)
	w := world{Redis: rd.URL(), TG: tg, Feeds: []string{site.FeedURL()}, Extra: []string{"HERALD_TELEGRAM_RATE=40"}}
	watch := newHerald(t, "watcher", "watcher,matcher", w)
	sender := newHerald(t, "sender", "telegram", w)
	watch.Start()
	sender.Start()
	feedFetched(t, st, site.FeedURL())
	// Slow answers, so that the sender surely has work in hand.
	tg.SetDelay("sendMessage", 300*time.Millisecond)
	site.Publish("drought-0", "Drought empties the reservoir", storyText("drought", 500))
	want := expected(chats, nil, []string{"drought-0"})
	waitUntil(t, 30*time.Second, "the fan-out to start", func() bool { return count(tg, nil).against(want).Delivered >= 20 })
	took, code := sender.Term()
	at := count(tg, nil).against(want)
	t.Logf("SIGTERM: exit %d after %s, with %d of %d sent", code, took.Round(time.Millisecond), at.Delivered, at.Expected)
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	if took > 10*time.Second {
		t.Errorf("took %s to stop, want at most 10s", took)
	}
	tg.ClearFaults()
	sender.Start()
	o := settle(t, tg, nil, want, 60*time.Second, 4*time.Second)
	t.Logf("shutdown: %s", o)
	report.add(reportRow{Scenario: "shutdown", Restarts: 1, Expected: o.Expected, Delivered: o.Delivered, Lost: o.Lost, Duplicated: o.DupMsgs,
		Note: fmt.Sprintf("SIGTERM mid-delivery: exit %d in %s", code, took.Round(100*time.Millisecond))})
	if o.Lost > 0 {
		t.Errorf("lost %d alerts, e.g. %v", o.Lost, o.Missing)
	}
	if o.DupMsgs > 1 {
		t.Errorf("%d alerts repeated after a clean shutdown, want at most 1", o.DupMsgs)
	}
}
