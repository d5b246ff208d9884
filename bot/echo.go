package bot

import (
	"strings"
	"unicode"
)

// echo writes a query back as the subscriber typed it and, only when the
// stored form differs, that form and why it differs: a subscriber who
// typed <b>x</b> should learn that Herald will look for "b x b".
func echo(typed, stored string) string {
	// Spacing is not worth a note.
	typed = strings.Join(strings.Fields(typed), " ")
	if typed == stored {
		return "<code>" + esc(stored) + "</code>"
	}
	return "<code>" + esc(clip(typed, 300)) + "</code> (kept as <code>" + esc(stored) + "</code>: " + esc(whyRewritten(typed, stored)) + ")"
}

// whyRewritten names what the normalisation of typed into stored
// changed, most telling first.
func whyRewritten(typed, stored string) string {
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
		why = append(why, "symbols such as "+strings.Join(symbols, " ")+" are not searched, so the words around them became a phrase")
	}
	if strings.Contains(typed, "|") {
		why = append(why, "| is written OR")
	}
	if strings.ContainsAny(typed, "()") && !strings.ContainsAny(stored, "()") {
		why = append(why, "parentheses that change nothing are dropped")
	}
	if strings.ToLower(typed) != typed {
		why = append(why, "case does not matter")
	}
	if accents {
		why = append(why, "accents do not matter")
	}
	if len(why) == 0 {
		why = append(why, "written the way Herald stores topics")
	}
	return strings.Join(why, "; ")
}
