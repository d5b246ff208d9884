package feed

import (
	"strings"
	"time"
)

// months maps month names and abbreviations in the languages feeds are
// commonly localized into (RFC 822 dates are meant to be English, yet
// Italian, French, German, Spanish and Portuguese ones are seen in the wild)
// to the English abbreviation time.Parse knows.
var months = map[string]string{}

func init() {
	names := [12][]string{
		{"jan", "january", "gen", "gennaio", "janv", "janvier", "januar", "jän", "ene", "enero", "janeiro"},
		{"feb", "february", "febbraio", "févr", "fevr", "février", "februar", "febrero", "fev", "fevereiro"},
		{"mar", "march", "marzo", "mars", "märz", "marz", "março", "marco"},
		{"apr", "april", "aprile", "avr", "avril", "abr", "abril"},
		{"may", "maggio", "mag", "mai", "mayo", "maio"},
		{"jun", "june", "giu", "giugno", "juin", "juni", "junio", "junho"},
		{"jul", "july", "lug", "luglio", "juil", "juillet", "juli", "julio", "julho"},
		{"aug", "august", "ago", "agosto", "août", "aout"},
		{"sep", "sept", "september", "set", "settembre", "septembre", "septiembre", "setembro"},
		{"oct", "october", "ott", "ottobre", "octobre", "okt", "oktober", "octubre", "out", "outubro"},
		{"nov", "november", "novembre", "noviembre", "novembro"},
		{"dec", "december", "dic", "dicembre", "déc", "decembre", "décembre", "dez", "dezember", "diciembre", "dezembro"},
	}
	en := [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	for i, list := range names {
		for _, n := range list {
			months[n] = en[i]
		}
	}
}

// layouts all carry a zone: a date without one could be off by a day, and
// a wrong date is worse than none for ordering alerts.
var layouts = []string{
	"2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04:05 MST",
	"2 Jan 2006 15:04 -0700",
	"2 Jan 2006 15:04 MST",
	"Jan 2 2006 15:04:05 -0700",
	"Jan 2 2006 15:04:05 MST",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04Z07:00",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05 MST",
}

// parseDate is the fallback for dates gofeed could not read: localized
// month and weekday names, stray commas and dots. It returns nil unless the
// date and its zone are both clear. Zone abbreviations other than UTC/GMT
// are not trusted (time.Parse would silently take them as UTC+0).
func parseDate(s string) *time.Time {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return nil
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	// Drop a leading weekday of any language: a word with no digit, not a month.
	if len(fields) > 0 && !strings.ContainsAny(fields[0], "0123456789") {
		if _, isMonth := months[strings.ToLower(strings.TrimSuffix(fields[0], "."))]; !isMonth {
			fields = fields[1:]
		}
	}
	for i, f := range fields {
		if en, ok := months[strings.ToLower(strings.TrimSuffix(f, "."))]; ok {
			fields[i] = en
		}
	}
	if n := len(fields); n > 0 {
		switch z := strings.ToUpper(fields[n-1]); z {
		case "UT", "Z":
			fields[n-1] = "UTC"
		case "UTC", "GMT":
		default:
			if !strings.ContainsAny(z, "+-0123456789") {
				return nil // an abbreviation we cannot map, like EST or CET
			}
		}
	}
	norm := strings.Join(fields, " ")
	for _, l := range layouts {
		if t, err := time.Parse(l, norm); err == nil {
			u := t.UTC()
			return &u
		}
	}
	return nil
}
