package watcher

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/herald-news/herald/store"
)

// MaxHint caps how far a feed's own hints (ttl, Cache-Control, Retry-After,
// skipHours/skipDays) may push its next poll: a wrong or hostile hint costs
// at most a day of news.
const MaxHint = 24 * time.Hour

// hints are what a feed said about how often to fetch it, kept on the feed
// so that polls answered 304 honour them too.
type hints struct {
	TTL       time.Duration // RSS <ttl>
	SkipHours []int         // UTC hours not to poll in
	SkipDays  []time.Weekday
}

func (h hints) encode() map[string]any {
	hours := make([]string, len(h.SkipHours))
	for i, v := range h.SkipHours {
		hours[i] = strconv.Itoa(v)
	}
	days := make([]string, len(h.SkipDays))
	for i, v := range h.SkipDays {
		days[i] = strconv.Itoa(int(v))
	}
	return map[string]any{
		"ttl":        int64(h.TTL / time.Second),
		"skip_hours": strings.Join(hours, ","),
		"skip_days":  strings.Join(days, ","),
	}
}

func decodeHints(m map[string]string) hints {
	var h hints
	if s, err := strconv.ParseInt(m["ttl"], 10, 64); err == nil && s > 0 {
		h.TTL = time.Duration(s) * time.Second
	}
	for _, v := range strings.Split(m["skip_hours"], ",") {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 && n < 24 {
			h.SkipHours = append(h.SkipHours, n)
		}
	}
	for _, v := range strings.Split(m["skip_days"], ",") {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 && n < 7 {
			h.SkipDays = append(h.SkipDays, time.Weekday(n))
		}
	}
	return h
}

// weekday reads an RSS <skipDays> day name.
func weekday(name string) (time.Weekday, bool) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		if strings.EqualFold(strings.TrimSpace(name), d.String()) {
			return d, true
		}
	}
	return 0, false
}

// nextPoll is when a feed polled at started should be polled again after a
// successful fetch: its interval, lengthened by the server's max-age or
// Retry-After and the feed's ttl, then moved out of skipped hours and days,
// never more than MaxHint beyond the interval.
func nextPoll(started time.Time, interval, serverHint time.Duration, h hints) time.Time {
	wait := max(interval, min(serverHint, MaxHint), min(h.TTL, MaxHint))
	next := started.Add(wait)
	limit := started.Add(max(interval, MaxHint))
	// Every hour or every day skipped is a broken hint, not a wish to be
	// never polled: ignore it then.
	if len(h.SkipHours) >= 24 || len(h.SkipDays) >= 7 {
		return next
	}
	for t := next; t.Before(limit); {
		u := t.UTC()
		if !slices.Contains(h.SkipHours, u.Hour()) && !slices.Contains(h.SkipDays, u.Weekday()) {
			return t
		}
		// Move to the start of the next UTC hour and look again.
		t = u.Truncate(time.Hour).Add(time.Hour)
	}
	return limit
}

// Jitter is the most a feed's next poll is moved off its interval to spread
// the polls of many feeds over that interval: a tenth of it.
func Jitter(interval time.Duration) time.Duration { return interval / 10 }

// phase is a feed's stable place within its interval, from its id: feeds
// of one interval, each polled at its own phase, spread uniformly across
// it however many were added at once.
func phase(id string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(id))
	return time.Duration(h.Sum64() % uint64(interval))
}

// toPhase is how far t is from the feed's phase: the nearest slot, in
// (-interval/2, interval/2].
func toPhase(t time.Time, id string, interval time.Duration) time.Duration {
	d := (phase(id, interval) - time.Duration(t.UnixNano()%int64(interval)) + interval) % interval
	if d > interval/2 {
		d -= interval
	}
	return d
}

// spread moves a feed's next poll t by at most Jitter(interval) towards its
// phase, so that a feed polled at its own pace moves a tenth of an
// interval a poll towards its slot and then stays there (a late claim is
// taken back on the next poll rather than carried forward). early is false
// when t was pushed out by a hint or a back-off, which must not be
// shortened: t then only moves later, by less than the jitter.
func spread(t time.Time, id string, interval time.Duration, early bool) time.Time {
	j := Jitter(interval)
	if j <= 0 {
		return t
	}
	d := toPhase(t, id, interval)
	if !early {
		if d < 0 {
			d += interval
		}
		return t.Add(d % j)
	}
	return t.Add(min(max(d, -j), j))
}

// settle is the next poll after a source's first fetch: at its phase,
// between half an interval and an interval and a half after started.
// Sources added in one batch are first polled within a jitter of being
// added, all together; settled at once, their polls are spread over the
// interval from the second on, where moving a tenth of an interval a poll
// would bunch them for five intervals (at 100,000 feeds, seconds of
// thousands of polls). One gap of half an interval, once, is harmless.
func settle(started time.Time, id string, interval time.Duration) time.Time {
	if interval <= 0 {
		return started
	}
	half := started.Add(interval / 2)
	return half.Add((phase(id, interval) - time.Duration(half.UnixNano()%int64(interval)) + interval) % interval)
}

// firstPoll is when a newly added feed is first polled: soon, within a
// jitter of its interval, so that feeds added together are not all
// fetched at the same moment.
func firstPoll(now time.Time, id string, interval time.Duration) time.Time {
	if j := Jitter(interval); j > 0 {
		return now.Add(phase(id, interval) % j)
	}
	return now
}

// OverdueGrace is how late a feed may be polled before it counts as
// overdue (herald_feeds_overdue): the greater of 30 s and a tenth of the
// poll interval, so that a watcher waking a moment after a feed fell due
// is not a backlog.
func OverdueGrace(interval time.Duration) time.Duration {
	return max(30*time.Second, interval/10)
}

// Overdue counts the watched feeds whose next poll was due more than grace
// before now: the watchers' backlog. Feeds being polled are leased into the
// future and are not counted.
func Overdue(ctx context.Context, st *store.Store, now time.Time, grace time.Duration) (int64, error) {
	n, err := st.Redis.ZCount(ctx, st.Key("feeds", "due"), "-inf", strconv.FormatInt(now.Add(-grace).UnixMilli(), 10)).Result()
	if err != nil {
		return 0, fmt.Errorf("count overdue feeds: %w", err)
	}
	return n, nil
}
