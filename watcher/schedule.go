package watcher

import (
	"slices"
	"strconv"
	"strings"
	"time"
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
