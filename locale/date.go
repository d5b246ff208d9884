package locale

import (
	"fmt"
	"time"
)

// Dates are written here rather than taken from a library: Go's time
// package knows only English names, and the few forms Herald prints
// (a day, a day with its month, a clock time) are short tables.

var (
	ruMonths   = [...]string{"января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"}
	ruWeekdays = [...]string{"воскресенье", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота"}
)

// Clock writes a time of day: "08:35" in both languages (24-hour clocks
// are the norm in Russian; Herald uses them in English too, as it always has).
func (p P) Clock(t time.Time) string { return t.Format("15:04") }

// Day writes a date with its weekday, without the year:
// "Wednesday 2 December", "среда, 2 декабря".
func (p P) Day(t time.Time) string {
	switch p.Lang() {
	case "ru":
		return fmt.Sprintf("%s, %d %s", ruWeekdays[t.Weekday()], t.Day(), ruMonths[t.Month()-1])
	}
	return t.Format("Monday 2 January")
}

// Date writes a date without the weekday, with the year when it is not
// the current one: "2 December", "2 December 2025"; "2 декабря",
// "2 декабря 2025 г.".
func (p P) Date(t, now time.Time) string {
	withYear := t.Year() != now.Year()
	switch p.Lang() {
	case "ru":
		if withYear {
			return fmt.Sprintf("%d %s %d г.", t.Day(), ruMonths[t.Month()-1], t.Year())
		}
		return fmt.Sprintf("%d %s", t.Day(), ruMonths[t.Month()-1])
	}
	if withYear {
		return t.Format("2 January 2006")
	}
	return t.Format("2 January")
}
