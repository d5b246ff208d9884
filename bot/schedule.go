package bot

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/subscriptions"
)

// Telegram delivery modes (Subscriber.Frequency).
const (
	ModeInstant = "instant"
	ModeHourly  = "hourly"
	ModeDaily   = "daily"
)

// DefaultDailyHour is the local hour of a daily round-up unless the chat
// picks one with /mode daily HH.
const DefaultDailyHour = 8

// location is the subscriber's zone, UTC when unset or unknown.
func location(sub *subscriptions.Subscriber) *time.Location {
	if sub.TZ != "" {
		if loc, err := time.LoadLocation(sub.TZ); err == nil {
			return loc
		}
	}
	return time.UTC
}

// inputError is a command's argument that cannot be used: id is the
// message saying why, which may show the argument as {{.Arg}}.
type inputError struct{ id, arg string }

func (e *inputError) Error() string { return fmt.Sprintf("%s %q", e.id, e.arg) }

// say writes the error for the chat, the argument escaped.
func (e *inputError) say(p locale.P) string { return p.T(e.id, "Arg", esc(clip(e.arg, 64))) }

// explain writes err for the chat: an inputError in its language, any
// other error as it is.
func explain(p locale.P, err error) string {
	var ie *inputError
	if errors.As(err, &ie) {
		return ie.say(p)
	}
	return esc(err.Error())
}

// parseQuiet reads "HH:MM-HH:MM" into minutes of the day.
func parseQuiet(s string) (from, to int, err error) {
	a, b, ok := strings.Cut(strings.ReplaceAll(strings.TrimSpace(s), " ", ""), "-")
	if !ok {
		return 0, 0, &inputError{id: "bot.quiet.form"}
	}
	if from, err = parseClock(a); err != nil {
		return 0, 0, err
	}
	if to, err = parseClock(b); err != nil {
		return 0, 0, err
	}
	if from == to {
		return 0, 0, &inputError{id: "bot.quiet.same"}
	}
	return from, to, nil
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 || len(m) != 2 {
		return 0, &inputError{id: "bot.quiet.not_time", arg: s}
	}
	return hh*60 + mm, nil
}

// inQuiet reports whether local time t falls in the quiet range.
func inQuiet(from, to int, t time.Time) bool {
	m := t.Hour()*60 + t.Minute()
	if from < to {
		return m >= from && m < to
	}
	return m >= from || m < to
}

// nextClock is the first time at or after t (in t's zone) whose local
// clock reads minute-of-day m.
func nextClock(t time.Time, m int) time.Time {
	at := time.Date(t.Year(), t.Month(), t.Day(), m/60, m%60, 0, 0, t.Location())
	if at.Before(t) {
		at = time.Date(t.Year(), t.Month(), t.Day()+1, m/60, m%60, 0, 0, t.Location())
	}
	return at
}

// releaseAt says when an alert that reaches a subscriber at now may be
// sent: now itself in instant mode outside quiet hours, else the next
// round-up (top of the hour, or the daily hour) moved past quiet hours.
// Quiet hours hold alerts; they never drop them.
func releaseAt(sub *subscriptions.Subscriber, now time.Time) time.Time {
	t := now.In(location(sub))
	switch sub.Frequency {
	case ModeHourly:
		t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, t.Location())
	case ModeDaily:
		h := sub.Hour
		if h <= 0 || h > 23 {
			h = DefaultDailyHour
		}
		t = nextClock(t, h*60)
	}
	if from, to, err := parseQuiet(sub.Quiet); sub.Quiet != "" && err == nil && inQuiet(from, to, t) {
		t = nextClock(t, to)
	}
	if !t.After(now) {
		return now
	}
	return t
}

// pausedNow reports whether deliveries to sub are dropped at now: a timed
// pause keeps the subscriber active and sets PausedUntil.
func pausedNow(sub *subscriptions.Subscriber, now time.Time) bool {
	return !sub.PausedUntil.IsZero() && now.Before(sub.PausedUntil)
}

// parsePause reads /pause's argument: "" (until /resume), or a duration
// such as 30m, 2h, 3d, 1w.
func parsePause(s string) (time.Duration, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return 0, nil
	}
	mult := time.Duration(0)
	switch {
	case strings.HasSuffix(s, "d"):
		mult = 24 * time.Hour
	case strings.HasSuffix(s, "w"):
		mult = 7 * 24 * time.Hour
	}
	if mult > 0 {
		n, err := strconv.ParseFloat(s[:len(s)-1], 64)
		if err != nil || n <= 0 || n > 366 {
			return 0, &inputError{id: "bot.pause.bad", arg: s}
		}
		return time.Duration(n * float64(mult)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Minute || d > 366*24*time.Hour {
		return 0, &inputError{id: "bot.pause.bad", arg: s}
	}
	return d, nil
}
