// Package locale holds every text Herald shows people, one catalogue per
// language, and writes dates and times the way each language writes them.
//
// The catalogues are TOML files in messages/, one per area and language:
// bot.en.toml, bot.ru.toml, web.en.toml and so on. English is the source
// language: every message exists in English, and a language that lacks a
// message falls back to it (the catalogue test fails when it does, so a
// language listed in Langs is complete). Messages are text/template
// strings; callers that put them into HTML escape what they pass in.
//
// go-i18n was chosen over golang.org/x/text/message because its catalogues
// are files a translator can edit without touching Go code or running a
// generator, and it applies CLDR plural rules (Russian has one, few and
// many) from the same files; language matching is x/text/language's.
package locale

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed messages/*.toml
var files embed.FS

// Default is the language of a reader who has not chosen one and whose
// client names none Herald speaks.
const Default = "en"

// Langs are the languages whose catalogues are complete, in the order a
// language menu lists them. Persian is left out until someone who writes
// it well has translated the catalogue: a poor translation is worse than
// English.
var Langs = []string{"en", "ru"}

// names are the languages as their speakers write them, for menus.
var names = map[string]string{"en": "English", "ru": "Русский"}

// Name is a language's own name ("Русский"), or the code itself.
func Name(code string) string {
	if n, ok := names[code]; ok {
		return n
	}
	return code
}

var (
	bundle   *i18n.Bundle
	matcher  language.Matcher
	printers = map[string]P{}
)

func init() {
	bundle = i18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	paths, err := fs.Glob(files, "messages/*.toml")
	if err != nil {
		panic(err)
	}
	for _, p := range paths {
		if _, err := bundle.LoadMessageFileFS(files, p); err != nil {
			panic(fmt.Sprintf("locale: %s: %v", p, err))
		}
	}
	tags := make([]language.Tag, len(Langs))
	for i, l := range Langs {
		tags[i] = language.Make(l)
		printers[l] = P{lang: l, loc: i18n.NewLocalizer(bundle, l)}
	}
	matcher = language.NewMatcher(tags)
}

// Valid reports whether code is one of Langs.
func Valid(code string) bool {
	_, ok := printers[code]
	return ok
}

// Match picks the supported language that best fits what a client asks
// for: an Accept-Language header ("ru-RU,ru;q=0.9,en;q=0.8"), a Telegram
// language_code ("ru", "pt-br") or several of them, best first. Anything
// unreadable or unsupported gives Default.
func Match(prefs ...string) string {
	var want []language.Tag
	for _, p := range prefs {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		tags, _, err := language.ParseAcceptLanguage(p)
		if err != nil {
			continue
		}
		want = append(want, tags...)
	}
	if len(want) == 0 {
		return Default
	}
	_, i, conf := matcher.Match(want...)
	if conf == language.No {
		return Default
	}
	return Langs[i]
}

// P prints messages in one language. The zero P prints English.
type P struct {
	lang string
	loc  *i18n.Localizer
}

// For returns the printer of a language; an unknown or empty code gives
// Default's.
func For(code string) P {
	if p, ok := printers[code]; ok {
		return p
	}
	return printers[Default]
}

// Lang is the printer's language code, for lang attributes and storage.
func (p P) Lang() string {
	if p.lang == "" {
		return Default
	}
	return p.lang
}

// T returns message id filled in from key-value pairs:
// T("topic.added", "Query", q, "N", 3). A message missing from every
// catalogue prints as its id in brackets and is remembered (see Missing),
// so a test that exercises a text catches a typo in its id.
func (p P) T(id string, kv ...any) string {
	return p.localize(id, nil, kv)
}

// N is T for a message with plural forms, chosen by n ({{.N}} in the
// message is n unless kv sets it).
func (p P) N(id string, n int, kv ...any) string {
	return p.localize(id, n, kv)
}

func (p P) localize(id string, count any, kv []any) string {
	if p.loc == nil {
		p = For(Default)
	}
	data := make(map[string]any, len(kv)/2+1)
	if count != nil {
		data["N"] = count
	}
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		data[k] = kv[i+1]
	}
	s, tag, err := p.loc.LocalizeWithTag(&i18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: count})
	if err != nil {
		noteMissing(p.Lang(), id)
		if s == "" {
			return "[" + id + "]"
		}
		return s
	}
	if base, _ := tag.Base(); base.String() != p.Lang() {
		noteMissing(p.Lang(), id) // fell back to English
	}
	return s
}

var missing sync.Map // "lang:id" → true

func noteMissing(lang, id string) { missing.Store(lang+":"+id, true) }

// Missing lists, sorted, the "lang:id" of every message looked up so far
// that its language lacked. Tests call it after exercising a package's
// texts and fail when it is not empty.
func Missing() []string {
	var out []string
	missing.Range(func(k, _ any) bool {
		out = append(out, k.(string))
		return true
	})
	sort.Strings(out)
	return out
}
