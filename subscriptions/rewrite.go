package subscriptions

import (
	"strings"
	"unicode"

	"github.com/herald-news/herald/locale"
)

// Rewrite says how the stored form of a topic (Query.String) differs from
// what the subscriber typed, so that the bot and the pages can tell them
// why: someone who typed <b>x</b> should learn that Herald looks for
// "b x b". Each channel words the reasons in the reader's language.
type Rewrite struct {
	// Symbols are characters of the typed text that are not searched.
	Symbols []string
	// Phrase: the stored form has a phrase the typed text did not
	// quote (the words around a symbol, as in covid-19).
	Phrase bool
	// Pipe: | was written as OR.
	Pipe bool
	// Parens: parentheses that changed nothing were dropped.
	Parens bool
	// Case: upper-case letters were lowered.
	Case bool
	// Accents: accents or other letter variants were folded.
	Accents bool
}

// Rewritten compares typed with its stored form. It reports false when
// they differ in spacing alone, which is not worth a note; when they
// differ in some other way none of Rewrite's fields names (the order of
// terms, a duplicate dropped), every field is empty.
func Rewritten(typed, stored string) (Rewrite, bool) {
	typed = strings.Join(strings.Fields(typed), " ")
	if typed == stored {
		return Rewrite{}, false
	}
	var w Rewrite
	seen := map[rune]bool{}
	for _, r := range typed {
		if seen[r] || unicode.IsSpace(r) || strings.ContainsRune("|()", r) {
			continue
		}
		seen[r] = true
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			w.Accents = w.Accents || r > unicode.MaxASCII && !strings.ContainsRune(stored, unicode.ToLower(r))
		case !strings.ContainsRune(stored, r):
			w.Symbols = append(w.Symbols, string(r))
		}
	}
	w.Phrase = strings.Contains(stored, `"`) && !strings.ContainsAny(typed, `"“”«»„`)
	w.Pipe = strings.Contains(typed, "|")
	w.Parens = strings.ContainsAny(typed, "()") && !strings.ContainsAny(stored, "()")
	w.Case = strings.ToLower(typed) != typed
	return w, true
}

// Reasons words what the rewrite changed, most telling first, in a
// language of locale.Langs; the bot and the pages show the same reasons.
func (w Rewrite) Reasons(lang string) []string {
	p := locale.For(lang)
	var why []string
	switch {
	case len(w.Symbols) > 0 && w.Phrase:
		why = append(why, p.T("query.rewrite.symbols_phrase", "Symbols", strings.Join(w.Symbols, " ")))
	case len(w.Symbols) > 0:
		why = append(why, p.T("query.rewrite.symbols", "Symbols", strings.Join(w.Symbols, " ")))
	}
	for _, r := range []struct {
		on bool
		id string
	}{{w.Pipe, "pipe"}, {w.Parens, "parens"}, {w.Case, "case"}, {w.Accents, "accents"}} {
		if r.on {
			why = append(why, p.T("query.rewrite."+r.id))
		}
	}
	if len(why) == 0 {
		why = append(why, p.T("query.rewrite.form"))
	}
	return why
}
