package mailer

import (
	"time"

	"github.com/herald-news/herald/subscriptions"
)

func zone(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// slot is the most recent start of the reader's hour at or before t, in
// their zone (a day without that hour, at a DST change, uses what
// time.Date normalises it to).
func slot(sub *subscriptions.Subscriber, t time.Time) time.Time {
	loc := zone(sub.TZ)
	l := t.In(loc)
	s := time.Date(l.Year(), l.Month(), l.Day(), sub.Hour, 0, 0, 0, loc)
	if s.After(t) {
		l = l.AddDate(0, 0, -1)
		s = time.Date(l.Year(), l.Month(), l.Day(), sub.Hour, 0, 0, 0, loc)
	}
	return s
}

// Due reports whether a daily or weekly reader's digest may go out at now,
// given when the last one went: within DigestGrace after their hour in
// their zone, once per day, and for weekly readers at least seven days
// after the last. Instant readers are always due (InstantWindow gathers
// their news).
func Due(sub *subscriptions.Subscriber, last, now time.Time) bool {
	switch sub.Frequency {
	case "instant", "":
		return true
	}
	s := slot(sub, now)
	if now.Sub(s) >= DigestGrace || !last.Before(s) {
		return false
	}
	if sub.Frequency == "weekly" && !last.IsZero() {
		ls := slot(sub, last)
		return !s.Before(time.Date(ls.Year(), ls.Month(), ls.Day()+7, sub.Hour, 0, 0, 0, s.Location()))
	}
	return true
}

// FirstDigest is when a reader whose last digest went at last (zero for
// none) gets the next one, if anything new matched by then: the first
// moment at or after now that Due allows. Instant readers get theirs as
// news comes (now); the zero time means none within eight days, which a
// valid reader never meets.
func FirstDigest(sub *subscriptions.Subscriber, last, now time.Time) time.Time {
	switch sub.Frequency {
	case "instant", "":
		return now
	}
	loc := zone(sub.TZ)
	s := slot(sub, now)
	for range 9 {
		t := s
		if t.Before(now) {
			t = now
		}
		if Due(sub, last, t) {
			return t
		}
		l := s.In(loc)
		s = time.Date(l.Year(), l.Month(), l.Day()+1, sub.Hour, 0, 0, 0, loc)
	}
	return time.Time{}
}
