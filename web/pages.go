package web

import (
	"html/template"

	"github.com/herald-news/herald/locale"
)

// The pages are self-contained: no external asset, styles inline, and the
// only script (the live preview and the time-zone guess) is an
// enhancement; every form works without it. Every text comes from the
// locale catalogue (web.*.toml) through .L, the page's printer; what the
// catalogue returns is text, escaped here like anything else.
var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"zones":    func() []string { return commonZones },
	"favicon":  func() template.URL { return favicon },
	"langs":    func() []string { return locale.Langs },
	"langName": locale.Name,
	// with passes a sub-template its page and one more value.
	"with2": func(page pageData, v any) map[string]any { return map[string]any{"P": page, "V": v} },
	"first": func(errs map[string][]string, field string) bool { return firstError(errs) == field },
	"ferr":  func(id string, msgs []string) fieldErr { return fieldErr{ID: id, Msgs: msgs} },
}).Parse(pageTemplates))

// commonZones fill the time-zone field's suggestions; any IANA name works.
var commonZones = []string{"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin",
	"Europe/Warsaw", "Europe/Vilnius", "Europe/Riga", "Europe/Tallinn", "Europe/Helsinki", "Europe/Kyiv", "Europe/Minsk",
	"Europe/Moscow", "Europe/Istanbul", "Asia/Tbilisi", "Asia/Yerevan", "Asia/Tehran", "Asia/Dubai", "Asia/Almaty",
	"Asia/Kolkata", "Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney", "America/New_York", "America/Chicago",
	"America/Denver", "America/Los_Angeles", "America/Sao_Paulo", "Africa/Cairo", "Africa/Johannesburg"}

// favicon is the pages' icon, inline (a data: URI) so that no page makes
// a second request or fetches anything from elsewhere: a blue rounded
// square with a white "H".
const favicon = template.URL("data:image/svg+xml," +
	"%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E" +
	"%3Crect width='32' height='32' rx='7' fill='%231f5fbf'/%3E" +
	"%3Cpath d='M9 7h4v7h6V7h4v18h-4v-7h-6v7H9z' fill='%23fff'/%3E%3C/svg%3E")
