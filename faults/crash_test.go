//go:build faults

package faults

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/mailer/smtptest"
)

// noisyLimits keep Telegram's per-chat and per-group limits but not the
// bot-wide 30/s, so that 2,000 alerts go out in seconds, not minutes.
var noisyLimits = telegramtest.Limits{ChatInterval: time.Second, GroupPerMinute: 20}

// TestCrashes fans 4 stories out to 500 chats (2,000 alerts) and 200
// digest readers while herald processes are SIGKILLed at random moments
// and restarted: every (subscriber, story) must arrive, and a kill may
// repeat at most the one message its delivering worker had in flight.
func TestCrashes(t *testing.T) {
	needRedis(t)
	rd := startRedis(t)
	st := rd.Store(t)
	tg := telegramtest.New(t, telegramtest.WithAutoChats(), telegramtest.WithLimits(noisyLimits))
	mail := smtptest.New(t)
	site := newNewsSite(t)
	chats, emails := seed(t, st, "storm", 1001, 500, 200)
	w := world{Redis: rd.URL(), TG: tg, Mail: mail, Feeds: []string{site.FeedURL()}}

	// One watcher that stays up, and three processes that are killed, each
	// with at most one delivering worker (SPEC counts repeats per worker).
	watch := newHerald(t, "watcher", "watcher,web", w)
	victims := []*heraldProc{
		newHerald(t, "match-tg", "matcher,telegram", w),
		newHerald(t, "tg", "telegram", w),
		newHerald(t, "match-mail", "matcher,email", w),
	}
	watch.Start()
	for _, v := range victims {
		v.Start()
	}
	feedFetched(t, st, site.FeedURL())

	var slugs []string
	for i := range 4 {
		slug := fmt.Sprintf("storm-%d", i)
		slugs = append(slugs, slug)
		site.Publish(slug, fmt.Sprintf("Storm %d reaches the coast", i), storyText("storm", i))
	}
	want := expected(chats, emails, slugs)

	// Kill at random moments while the fan-out runs.
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	kills, restarts := 0, 0
	deadline := time.Now().Add(25 * time.Second)
	for kills < 8 && time.Now().Before(deadline) {
		time.Sleep(time.Duration(500+rnd.IntN(1500)) * time.Millisecond)
		v := victims[rnd.IntN(len(victims))]
		v.Kill()
		kills++
		t.Logf("kill %d: %s (%s)", kills, v.Name, count(tg, mail).against(want))
		time.Sleep(time.Duration(200+rnd.IntN(800)) * time.Millisecond)
		v.Start()
		restarts++
	}
	o := settle(t, tg, mail, want, 90*time.Second, 5*time.Second)
	t.Logf("crashes: %d kills: %s", kills, o)
	report.add(reportRow{Scenario: "crashes", Kills: kills, Restarts: restarts, Expected: o.Expected, Delivered: o.Delivered, Lost: o.Lost, Duplicated: o.DupMsgs,
		Note: fmt.Sprintf("%d alerts + %d digest items; %d duplicate pairs", len(chats)*len(slugs), len(emails)*len(slugs), o.DupPairs)})
	if kills < 5 {
		t.Errorf("only %d kills", kills)
	}
	if o.Lost > 0 {
		t.Errorf("lost %d of %d deliveries, e.g. %v", o.Lost, o.Expected, o.Missing)
	}
	if o.DupMsgs > kills {
		t.Errorf("%d messages repeated something already delivered; %d kills allow at most %d", o.DupMsgs, kills, kills)
	}
}
