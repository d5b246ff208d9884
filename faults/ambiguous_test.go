//go:build faults

package faults

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/store"
)

// TestAmbiguousAnswers makes the Bot API take messages and then spoil the
// answer, as a third-party emulator, a proxy or a bad network does: first
// with HTTP 200s whose bodies do not decode, then by stalling until the
// client gives up and by resetting the connection after reading the
// request. SPEC: an HTTP 200 counts as sent (no copy at all), an answer
// that leaves it unclear repeats that message at most once, and nothing is
// lost.
func TestAmbiguousAnswers(t *testing.T) {
	needRedis(t)
	rd := startRedis(t)
	st := rd.Store(t)
	tg := telegramtest.New(t, telegramtest.WithAutoChats(), telegramtest.WithLimits(noisyLimits))
	site := newNewsSite(t)
	chats, _ := seed(t, st, "flood", 11001, 60, 0)
	w := world{Redis: rd.URL(), TG: tg, Feeds: []string{site.FeedURL()}}
	h := newHerald(t, "all", "watcher,matcher,telegram,web", w)
	h.Start()
	feedFetched(t, st, site.FeedURL())

	const send = "sendMessage"
	// More spoiled answers than chats, so that many retries are spoiled too.
	const garbled, stalled, reset = 90, 30, 60
	// phase publishes one story while the faults are on, waits until every
	// chat has it and every alert is off the queue (after that nothing can
	// send a copy), and returns the outcome for that story.
	phase := func(slug, title string, n int) outcome {
		site.Publish(slug, title, storyText("flood", n))
		want := expected(chats, nil, []string{slug})
		waitUntil(t, 90*time.Second, "every chat to get "+slug, func() bool { return count(tg, nil).against(want).Lost == 0 })
		waitUntil(t, 60*time.Second, "every alert of "+slug+" acknowledged", func() bool { return alertsAcked(st) })
		// Stalled requests are recorded once the double sees their client
		// hang up, which may be after the sender moved on.
		tg.WaitIdle(30*time.Second, send)
		o := count(tg, nil).against(want)
		for _, c := range chats {
			if k := count(tg, nil).pairs[fmt.Sprintf("tg:%d|%s", c, slug)]; k > 2 {
				t.Errorf("chat %d got %s %d times", c, slug, k)
			}
		}
		return o
	}

	tg.GarbleNext(send, garbled)
	o1 := phase("flood-0", "Flood closes the river road", 700)
	g := tg.Misanswered(send, telegramtest.MisGarbled)
	t.Logf("garbled 200s: %d answers spoiled: %s", g, o1)
	if g == 0 {
		t.Errorf("no answer was garbled: the phase tests nothing")
	}
	if o1.DupPairs > 0 {
		t.Errorf("%d copies after HTTP 200s: an HTTP 200 counts as sent", o1.DupPairs)
	}

	tg.ClearFaults()
	tg.StallNext(send, stalled)
	tg.ResetAfterNext(send, reset)
	o2 := phase("flood-1", "Flood reaches the old bridge", 701)
	unclear := tg.Misanswered(send, telegramtest.MisStalled) + tg.Misanswered(send, telegramtest.MisReset)
	t.Logf("stalled and reset answers: %d answers spoiled: %s", unclear, o2)
	if unclear == 0 {
		t.Errorf("no answer was stalled or reset: the phase tests nothing")
	}
	if o2.DupPairs > unclear {
		t.Errorf("%d copies, more than the %d unclear answers", o2.DupPairs, unclear)
	}

	o := count(tg, nil).against(expected(chats, nil, []string{"flood-0", "flood-1"}))
	report.add(reportRow{Scenario: "ambiguous answers", Expected: o.Expected, Delivered: o.Delivered, Lost: o.Lost, Duplicated: o.DupMsgs,
		Note: fmt.Sprintf("%d garbled 200s: %d copies; %d stalled/reset after the request: %d copies", g, o1.DupPairs, unclear, o2.DupPairs)})
	for _, x := range []outcome{o1, o2} {
		if x.Lost > 0 {
			t.Errorf("lost %d alerts, e.g. %v", x.Lost, x.Missing)
		}
	}
}

// alertsAcked reports whether the senders' group read the whole alert
// queue (every shard) and acknowledged everything it read.
func alertsAcked(st *store.Store) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, key := range delivery.TelegramQueues(st) {
		if !streamAcked(ctx, st, key) {
			return false
		}
	}
	return true
}

func streamAcked(ctx context.Context, st *store.Store, key string) bool {
	last, err := st.Redis.XRevRangeN(ctx, key, "+", "-", 1).Result()
	if err != nil {
		return false
	}
	gs, err := st.Redis.XInfoGroups(ctx, key).Result()
	if err != nil {
		return false
	}
	for _, g := range gs {
		if g.Name == delivery.TelegramGroup {
			// An empty stream was trimmed: everything in it was acked.
			return g.Pending == 0 && (len(last) == 0 || g.LastDeliveredID == last[0].ID)
		}
	}
	return false
}
