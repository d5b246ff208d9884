//go:build faults

package faults

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/matcher"
	"github.com/herald-news/herald/subscriptions"
)

var loadedLine = regexp.MustCompile(`subscriptions loaded.* subscribers=(\d+) partition=(\S+)`)

// loaded waits for the matcher's start-up line and returns how many
// subscribers it loaded and its partition.
func loaded(t *testing.T, h *heraldProc, start int) (int, string) {
	t.Helper()
	var m []string
	waitUntil(t, 30*time.Second, h.Name+"'s subscriptions loaded", func() bool {
		all := loadedLine.FindAllStringSubmatch(h.logText(), -1)
		if len(all) < start {
			return false
		}
		m = all[start-1]
		return true
	})
	n, _ := strconv.Atoi(m[1])
	return n, m[2]
}

// TestMatcherPartitions splits 200 Telegram subscribers between two
// matcher partitions, each its own process (partition 1 in two processes
// that share its work). Partition 0's process is SIGKILLed in the middle
// of a fan-out; the stories published while it is down reach partition
// 1's subscribers and wait for partition 0's, which get them when it is
// back. Every alert is delivered exactly once. The restarted process
// starts from the snapshot it saved after loading, and follows the
// subscribers who came while it was down.
func TestMatcherPartitions(t *testing.T) {
	needRedis(t)
	rd := startRedis(t)
	st := rd.Store(t)
	tg := telegramtest.New(t, telegramtest.WithAutoChats(), telegramtest.WithLimits(noisyLimits))
	site := newNewsSite(t)
	chats, _ := seed(t, st, "quake", 7001, 200, 0)
	var part [2][]int64
	for _, c := range chats {
		k := matcher.PartitionOf(subscriptions.TelegramID(c), 2)
		part[k] = append(part[k], c)
	}
	w := world{Redis: rd.URL(), TG: tg, Feeds: []string{site.FeedURL()}}
	snapshots := t.TempDir()
	in := func(k int) world {
		v := w
		v.Extra = append([]string{fmt.Sprintf("HERALD_MATCHER_PARTITION=%d/2", k), "HERALD_MATCHER_SNAPSHOT_DIR=" + snapshots}, w.Extra...)
		return v
	}
	front := newHerald(t, "front", "watcher,telegram,web", w)
	p0 := newHerald(t, "match-0", "matcher", in(0))
	p1 := []*heraldProc{newHerald(t, "match-1a", "matcher", in(1)), newHerald(t, "match-1b", "matcher", in(1))}
	for _, h := range append([]*heraldProc{front, p0}, p1...) {
		h.Start()
	}
	// Each process holds its partition's subscribers and no others.
	for _, c := range []struct {
		h    *heraldProc
		k    int
		want string
	}{{p0, 0, "0/2"}, {p1[0], 1, "1/2"}, {p1[1], 1, "1/2"}} {
		if n, p := loaded(t, c.h, 1); n != len(part[c.k]) || p != c.want {
			t.Fatalf("%s loaded %d subscribers of partition %s, want %d of %s", c.h.Name, n, p, len(part[c.k]), c.want)
		}
	}
	if len(part[0]) == 0 || len(part[1]) == 0 {
		t.Fatalf("200 subscribers all in one partition: %d and %d", len(part[0]), len(part[1]))
	}
	feedFetched(t, st, site.FeedURL())
	waitUntil(t, 30*time.Second, p0.Name+"'s snapshot saved", func() bool { return strings.Contains(p0.logText(), "snapshot saved") })

	publish := func(from, to int) []string {
		var slugs []string
		for i := from; i < to; i++ {
			slug := fmt.Sprintf("quake-%d", i)
			slugs = append(slugs, slug)
			site.Publish(slug, fmt.Sprintf("Quake %d shakes the harbour town", i), storyText("quake", 300+i))
		}
		return slugs
	}
	early := publish(0, 2)
	// Kill partition 0's only process once its first alert went out: it
	// is in the middle of its fan-out (or just done with it).
	waitUntil(t, 60*time.Second, "partition 0's first alert", func() bool {
		return count(tg, nil).against(expected(part[0], nil, early)).Delivered > 0
	})
	p0.Kill()
	t.Logf("killed %s at %s", p0.Name, count(tg, nil).against(expected(chats, nil, early)))

	late := publish(2, 4)
	// Partition 1 matches the stories published meanwhile...
	o1 := settle(t, tg, nil, expected(part[1], nil, late), 60*time.Second, 0)
	if o1.Lost > 0 {
		t.Fatalf("partition 1, still up, lost %d of the stories published while partition 0 was down: %s", o1.Lost, o1)
	}
	// ...which wait for partition 0: none of its subscribers has them,
	// and its group has them unread.
	if o0 := count(tg, nil).against(expected(part[0], nil, late)); o0.Delivered > 0 {
		t.Fatalf("partition 0's subscribers got %d alerts of stories published while its only matcher was down", o0.Delivered)
	}
	// (Two or three: the kill may have come before it read the second.)
	m := front.body("/metrics")
	if lag, ok := metric(m, `herald_matcher_lag{partition="0/2"}`); !ok || lag < 2 {
		t.Errorf("/metrics does not show partition 0/2 at least two articles behind:\n%s", grepLines(m, "herald_matcher_"))
	}
	if lag, ok := metric(m, `herald_matcher_lag{partition="1/2"}`); !ok || lag != 0 {
		t.Errorf("/metrics does not show partition 1/2 caught up:\n%s", grepLines(m, "herald_matcher_"))
	}

	// Subscribers who come while partition 0 is down, to a topic none of
	// the stories so far is about: the restarted process must follow
	// them from its snapshot's point of the change stream.
	newcomers, _ := seed(t, st, "tsunami", 9001, 20, 0)
	if !slices.ContainsFunc(newcomers, func(c int64) bool { return matcher.PartitionOf(subscriptions.TelegramID(c), 2) == 0 }) {
		t.Fatal("no newcomer is in partition 0")
	}
	p0.Start()
	if n, p := loaded(t, p0, 2); n != len(part[0]) || p != "0/2" {
		t.Fatalf("%s loaded %d subscribers of partition %s again, want %d of 0/2", p0.Name, n, p, len(part[0]))
	}
	if l := grepLine(p0.logText()[strings.LastIndex(p0.logText(), "==== start"):], "subscriptions loaded"); !strings.Contains(l, "from=") {
		t.Errorf("%s did not start from its snapshot: %s", p0.Name, l)
	}
	want := expected(chats, nil, append(early, late...))
	o := settle(t, tg, nil, want, 90*time.Second, 5*time.Second)
	if !t.Failed() {
		site.Publish("tsunami-1", "Tsunami warning lifted", storyText("tsunami", 1))
		on := settle(t, tg, nil, expected(newcomers, nil, []string{"tsunami-1"}), 60*time.Second, 0)
		if on.Lost > 0 {
			t.Errorf("of %d subscribers who came while partition 0 was down, %d got no alert: %s", len(newcomers), on.Lost, on)
		}
		o = settle(t, tg, nil, append(want, expected(newcomers, nil, []string{"tsunami-1"})...), 30*time.Second, 2*time.Second)
	}
	t.Logf("matcher partitions: %s", o)
	report.add(reportRow{Scenario: "matcher partitions", Kills: 1, Restarts: 1, Expected: o.Expected, Delivered: o.Delivered, Lost: o.Lost, Duplicated: o.DupMsgs,
		Note: fmt.Sprintf("2 partitions (%d and %d chats), 3 matcher processes; %d duplicate pairs", len(part[0]), len(part[1]), o.DupPairs)})
	if o.Lost > 0 {
		t.Errorf("lost %d deliveries, e.g. %v", o.Lost, o.Missing)
	}
	if o.DupPairs > 0 || o.DupMsgs > 0 {
		t.Errorf("%d alerts delivered more than once (%d messages): a killed matcher must repeat nothing", o.DupPairs, o.DupMsgs)
	}
	m = front.body("/metrics")
	for _, p := range []string{"0/2", "1/2"} {
		if lag, ok := metric(m, `herald_matcher_lag{partition="`+p+`"}`); !ok || lag != 0 {
			t.Errorf("partition %s has not caught up:\n%s", p, grepLines(m, "herald_matcher_"))
		}
	}
}

// metric is the value of the sample named (with its labels) name.
func metric(text, name string) (float64, bool) {
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// grepLines keeps the lines of s that start with prefix.
func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
