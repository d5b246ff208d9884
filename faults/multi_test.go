//go:build faults

package faults

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/mailer/smtptest"
)

// TestSeveralProcesses runs three herald processes with different role
// mixes on one Redis: the feed is fetched once per interval whatever the
// number of watchers, each alert and digest goes out once, and when one
// process is killed the others finish its work by claiming its pending
// entries.
func TestSeveralProcesses(t *testing.T) {
	needRedis(t)
	rd := startRedis(t)
	st := rd.Store(t)
	tg := telegramtest.New(t, telegramtest.WithAutoChats(), telegramtest.WithLimits(noisyLimits))
	mail := smtptest.New(t)
	site := newNewsSite(t)
	chats, emails := seed(t, st, "flood", 5001, 300, 100)
	w := world{Redis: rd.URL(), TG: tg, Mail: mail, Feeds: []string{site.FeedURL()}}
	procs := []*heraldProc{
		newHerald(t, "all", "watcher,matcher,telegram,email,web", w),
		newHerald(t, "watch-match-tg", "watcher,matcher,telegram", w),
		newHerald(t, "watch-tg-mail", "watcher,telegram,email", w),
	}
	for _, p := range procs {
		p.Start()
	}
	feedFetched(t, st, site.FeedURL())

	// Three watchers, one feed polled every second: about one fetch a
	// second in all, not three.
	t0 := time.Now()
	time.Sleep(6 * time.Second)
	fetches := site.Fetches(t0)
	t.Logf("feed fetched %d times in 6s by 3 watchers (interval 1s)", fetches)
	if fetches > 8 || fetches < 3 {
		t.Errorf("feed fetched %d times in 6s with a 1s interval: want about 5 (once per interval, not once per watcher)", fetches)
	}

	var slugs []string
	for i := range 3 {
		slug := fmt.Sprintf("flood-%d", i)
		slugs = append(slugs, slug)
		site.Publish(slug, fmt.Sprintf("Flood %d closes the valley road", i), storyText("flood", 100+i))
	}
	want := expected(chats, emails, slugs)
	// Kill one process in the middle of the fan-out; the others must take
	// over what it held.
	waitUntil(t, 30*time.Second, "the fan-out to start", func() bool { return count(tg, mail).against(want).Delivered >= 150 })
	victim := procs[1]
	victim.Kill()
	t.Logf("killed %s at %s", victim.Name, count(tg, mail).against(want))
	o := settle(t, tg, mail, want, 90*time.Second, 5*time.Second)
	t.Logf("several processes: %s", o)
	report.add(reportRow{Scenario: "several processes", Kills: 1, Expected: o.Expected, Delivered: o.Delivered, Lost: o.Lost, Duplicated: o.DupMsgs,
		Note: fmt.Sprintf("3 processes; feed fetched %d times in 6s; %d duplicate pairs", fetches, o.DupPairs)})
	if o.Lost > 0 {
		t.Errorf("lost %d deliveries, e.g. %v", o.Lost, o.Missing)
	}
	if o.DupMsgs > 1 {
		t.Errorf("%d messages repeated; one kill allows at most 1", o.DupMsgs)
	}
	// Every process exposes the queues' state.
	metrics := procs[0].body("/metrics")
	for _, name := range []string{`herald_queue_lag{queue="telegram"}`, `herald_queue_lag{queue="articles"}`, `herald_queue_pending{queue="telegram"}`,
		`herald_queue_oldest_pending_seconds{queue="articles"}`, "herald_digests_pending", "herald_feeds_overdue", "herald_telegram_sent_total"} {
		if !strings.Contains(metrics, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	// The survivors still answer.
	for _, p := range []*heraldProc{procs[0], procs[2]} {
		if s := p.get("/readyz"); s != http.StatusOK {
			t.Errorf("%s /readyz = %d", p.Name, s)
		}
	}
}
