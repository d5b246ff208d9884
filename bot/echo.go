package bot

import (
	"strings"
	"unicode"

	"github.com/herald-news/herald/locale"
)

// echo writes a query back as the subscriber typed it and, only when the
// stored form differs, that form and why it differs: a subscriber who
// typed <b>x</b> should learn that Herald will look for "b x b".
func echo(p locale.P, typed, stored string) string {
	// Spacing is not worth a note.
	typed = strings.Join(strings.Fields(typed), " ")
	if typed == stored {
		return "<code>" + esc(stored) + "</code>"
	}
	return p.T("bot.echo.kept", "Typed", esc(clip(typed, 300)), "Stored", esc(stored), "Why", esc(whyRewritten(p, typed, stored)))
}

// whyRewritten names what the normalisation of typed into stored
// changed, most telling first.
func whyRewritten(p locale.P, typed, stored string) string {
	var why, symbols []string
	accents := false
	seen := map[rune]bool{}
	for _, r := range typed {
		if seen[r] || unicode.IsSpace(r) || strings.ContainsRune("|()", r) {
			continue
		}
		seen[r] = true
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			accents = accents || r > unicode.MaxASCII && !strings.ContainsRune(stored, unicode.ToLower(r))
		case !strings.ContainsRune(stored, r):
			symbols = append(symbols, string(r))
		}
	}
	if len(symbols) > 0 {
		why = append(why, p.T("bot.echo.symbols", "Symbols", strings.Join(symbols, " ")))
	}
	if strings.Contains(typed, "|") {
		why = append(why, p.T("bot.echo.bar"))
	}
	if strings.ContainsAny(typed, "()") && !strings.ContainsAny(stored, "()") {
		why = append(why, p.T("bot.echo.parens"))
	}
	if strings.ToLower(typed) != typed {
		why = append(why, p.T("bot.echo.case"))
	}
	if accents {
		why = append(why, p.T("bot.echo.accents"))
	}
	if len(why) == 0 {
		why = append(why, p.T("bot.echo.form"))
	}
	return strings.Join(why, "; ")
}
