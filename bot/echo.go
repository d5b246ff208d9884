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
	return p.T("bot.echo.kept", "Typed", esc(clip(typed, 300)), "Stored", esc(stored), "Why", esc(strings.Join(w.Reasons(p.Lang()), "; ")))
}
