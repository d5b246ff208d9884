package watcher

import (
	"fmt"
	"testing"
	"time"
)

func TestNextPollHints(t *testing.T) {
	at := time.Date(2026, 3, 6, 22, 30, 0, 0, time.UTC) // a Friday
	for _, tc := range []struct {
		name     string
		interval time.Duration
		server   time.Duration
		h        hints
		want     time.Time
	}{
		{"interval only", 5 * time.Minute, 0, hints{}, at.Add(5 * time.Minute)},
		{"max-age lengthens", 5 * time.Minute, time.Hour, hints{}, at.Add(time.Hour)},
		{"ttl lengthens", 5 * time.Minute, 0, hints{TTL: 2 * time.Hour}, at.Add(2 * time.Hour)},
		{"hints capped at a day", 5 * time.Minute, 0, hints{TTL: 7 * 24 * time.Hour}, at.Add(MaxHint)},
		{"skip hours", 5 * time.Minute, 0, hints{SkipHours: []int{22, 23, 0}}, time.Date(2026, 3, 7, 1, 0, 0, 0, time.UTC)},
		{"skip days", 5 * time.Minute, 0, hints{SkipDays: []time.Weekday{time.Saturday}}, at.Add(5 * time.Minute)},
		{"skip days at midnight", 2 * time.Hour, 0, hints{SkipDays: []time.Weekday{time.Saturday}}, at.Add(MaxHint)},
		{"every hour skipped is ignored", 5 * time.Minute, 0, hints{SkipHours: []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}}, at.Add(5 * time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextPoll(at, tc.interval, tc.server, tc.h); !got.Equal(tc.want) {
				t.Fatalf("next poll %s, want %s", got, tc.want)
			}
		})
	}
	// Stored and read back as the feed's hash fields.
	h := hints{TTL: time.Hour, SkipHours: []int{1, 2}, SkipDays: []time.Weekday{time.Sunday}}
	m := map[string]string{}
	for k, v := range h.encode() {
		m[k] = fmt.Sprint(v)
	}
	if got := decodeHints(m); got.TTL != h.TTL || len(got.SkipHours) != 2 || len(got.SkipDays) != 1 {
		t.Fatalf("hints round trip: %+v", got)
	}
}

func TestPageCanonical(t *testing.T) {
	for _, tc := range []struct{ item, declared, want string }{
		{"https://www.example.com/a?utm_source=x", "https://example.com/2026/a", "https://example.com/2026/a"},
		{"https://news.example.co.uk/a", "https://other.co.uk/a", ""},
		{"https://example.com/a", "https://example.com/", ""},
		{"https://example.com/a", "javascript:alert(1)", ""},
		{"https://example.com/a", "", ""},
	} {
		if got := pageCanonical(tc.item, tc.declared); got != tc.want {
			t.Errorf("pageCanonical(%q, %q) = %q, want %q", tc.item, tc.declared, got, tc.want)
		}
	}
}

// Feeds added in one batch end up spread over their interval: each polled
// when due (a little late, as a claim is), settled at its phase after its
// first fetch, so that from the second poll on no second of their due
// times holds more than three times the mean; the gap after the first
// fetch is between half an interval and one and a half, and every later
// one leaves the interval by no more than the jitter.
func TestSpreadBatchOverInterval(t *testing.T) {
	const feeds, interval = 1200, time.Minute
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	due := make([]time.Time, feeds)
	last := make([]time.Time, feeds)
	ids := make([]string, feeds)
	for i := range ids {
		ids[i] = FeedID(fmt.Sprintf("https://example.com/feed/%d.xml", i))
		due[i] = firstPoll(start, ids[i], interval)
		if d := due[i].Sub(start); d < 0 || d >= Jitter(interval) {
			t.Fatalf("first poll %s after add, want within the jitter %s", d, Jitter(interval))
		}
	}
	j := Jitter(interval)
	mean := float64(feeds) / interval.Seconds()
	for round := range 8 {
		for i, id := range ids {
			started := due[i].Add(time.Duration(i%7) * 100 * time.Millisecond) // claimed a moment late
			if !last[i].IsZero() {
				lo, hi := interval-j, interval+j+time.Second
				if round == 1 {
					lo, hi = interval/2, interval*3/2+time.Second
				}
				if gap := started.Sub(last[i]); gap < lo || gap > hi {
					t.Fatalf("round %d: feed %d polled %s after its last poll, want between %s and %s", round, i, gap, lo, hi)
				}
			}
			last[i] = started
			next := nextPoll(started, interval, 0, hints{})
			if round == 0 {
				due[i] = settle(started, id, interval)
			} else {
				due[i] = spread(next, id, interval, true)
			}
		}
		perSecond := map[int64]int{}
		for _, d := range due {
			perSecond[d.Unix()]++
		}
		for s, n := range perSecond {
			if float64(n) > 3*mean {
				t.Errorf("after round %d, second %d holds %d due feeds, mean %.0f", round, s, n, mean)
			}
		}
		if len(perSecond) < int(interval.Seconds())*9/10 {
			t.Errorf("after round %d, due times fall in %d distinct seconds of %d", round, len(perSecond), int(interval.Seconds()))
		}
	}
}

// A next poll pushed out by a hint or a back-off is never made earlier,
// and moves later by less than the jitter.
func TestSpreadNeverShortensAHint(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i := range 200 {
		id := FeedID(fmt.Sprint(i))
		hinted := at.Add(time.Hour)
		got := spread(hinted, id, time.Minute, false)
		if got.Before(hinted) || got.Sub(hinted) >= Jitter(time.Minute) {
			t.Fatalf("hinted next poll moved by %s", got.Sub(hinted))
		}
	}
}
