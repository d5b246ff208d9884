package bot

import (
	"strings"

	"github.com/herald-news/herald/locale"
	"github.com/herald-news/herald/subscriptions"
)

// echo writes a query back as the subscriber typed it and, only when the
// stored form differs, that form and why it differs: a subscriber who
// typed <b>x</b> should learn that Herald will look for "b x b".
func echo(p locale.P, typed, stored string) string {
	w, differs := subscriptions.Rewritten(typed, stored)
	if !differs {
		// Spacing is not worth a note.
		return "<code>" + esc(stored) + "</code>"
	}
	typed = strings.Join(strings.Fields(typed), " ")
	return p.T("bot.echo.kept", "Typed", esc(clip(typed, 300)), "Stored", esc(stored), "Why", esc(whyRewritten(p, w)))
}

// whyRewritten names what the normalisation changed (as
// subscriptions.Rewritten found it), most telling first.
func whyRewritten(p locale.P, w subscriptions.Rewrite) string {
	var why []string
	if len(w.Symbols) > 0 {
		why = append(why, p.T("bot.echo.symbols", "Symbols", strings.Join(w.Symbols, " ")))
	}
	if w.Pipe {
		why = append(why, p.T("bot.echo.bar"))
	}
	if w.Parens {
		why = append(why, p.T("bot.echo.parens"))
	}
	if w.Case {
		why = append(why, p.T("bot.echo.case"))
	}
	if w.Accents {
		why = append(why, p.T("bot.echo.accents"))
	}
	if len(why) == 0 {
		why = append(why, p.T("bot.echo.form"))
	}
	return strings.Join(why, "; ")
}
