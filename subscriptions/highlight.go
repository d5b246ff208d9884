package subscriptions

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
)

// wordSpan is one word of a text: its bytes [start,end) and its folded
// form as queries see it.
type wordSpan struct {
	start, end int
	folded     string
}

// words splits text into words on rune boundaries, so that a highlight
// never splits a multi-byte character.
func words(text string) []wordSpan {
	var out []wordSpan
	start := -1
	flush := func(end int) {
		if start >= 0 {
			out = append(out, wordSpan{start, end, strings.Join(Tokens(text[start:end]), "")})
			start = -1
		}
	}
	for i, r := range text {
		inWord := r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) ||
			(r == '\'' || r == '’') && start >= 0)
		switch {
		case inWord && start < 0:
			start = i
		case !inWord:
			flush(i)
		}
	}
	flush(len(text))
	return out
}

// lightStem strips the endings that most often tell an inflection from
// its word (drones, protested, sanctions), so that a highlight finds the
// forms a word query matches; it need not equal the matcher's stemmer,
// since a highlight only shows where the words are.
func lightStem(w string) string {
	w = strings.TrimSuffix(strings.TrimSuffix(w, "'s"), "’s")
	for _, suf := range []string{"ies", "es", "s", "ed", "ing", "e"} {
		if len(w) > len(suf)+2 && strings.HasSuffix(w, suf) {
			return strings.TrimSuffix(w, suf)
		}
	}
	return w
}

// Highlight returns text as escaped HTML with the words of the topic's
// terms in <b>: words in their forms, prefixes, and phrases as a whole.
// Everything outside the tags is escaped, and a tag never cuts a
// character or an entity, since spans are whole words of the raw text.
func Highlight(text, topic string) string {
	q, err := Parse(topic)
	if err != nil || text == "" {
		return html.EscapeString(text)
	}
	ws := words(text)
	// marks[i] > 0: word i starts a highlight of marks[i] words.
	marks := make([]int, len(ws))
	for _, term := range q.Terms() {
		if pre, ok := strings.CutSuffix(term, "*"); ok {
			pre = strings.Join(Tokens(pre), "")
			for i, w := range ws {
				if pre != "" && strings.HasPrefix(w.folded, pre) {
					marks[i] = max(marks[i], 1)
				}
			}
			continue
		}
		want := Tokens(term)
		if len(want) == 0 {
			continue
		}
		var wantStem string
		if len(want) == 1 {
			wantStem = stem(want[0])
		}
		for i := 0; i+len(want) <= len(ws); i++ {
			ok := true
			for j, t := range want {
				got := ws[i+j].folded
				if len(want) == 1 {
					// The matcher's stems too (through vocab, which has
					// the article's words already): they are what made a
					// Russian query find "дронов" for "дроны".
					ok = got == t || lightStem(got) == lightStem(t) || stem(got) == wantStem
				} else {
					ok = ok && got == t
				}
			}
			if ok {
				marks[i] = max(marks[i], len(want))
			}
		}
	}
	var b strings.Builder
	at := 0
	for i := 0; i < len(ws); i++ {
		if marks[i] == 0 {
			continue
		}
		last := min(i+marks[i], len(ws)) - 1
		// An overlapping later mark extends this one rather than nesting.
		for k := i + 1; k <= last && k < len(ws); k++ {
			if marks[k] > 0 {
				last = max(last, min(k+marks[k], len(ws))-1)
			}
		}
		b.WriteString(html.EscapeString(text[at:ws[i].start]))
		b.WriteString("<b>" + html.EscapeString(text[ws[i].start:ws[last].end]) + "</b>")
		at = ws[last].end
		i = last
	}
	b.WriteString(html.EscapeString(text[at:]))
	return b.String()
}
