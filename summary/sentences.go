package summary

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sentences splits text into sentences. A blank line always ends a sentence
// (paragraphs never share one); inside a paragraph, line breaks are spaces.
//
// The splitter is tuned for news prose in Latin and Cyrillic scripts: a full
// stop ends a sentence unless the word before it is a title (Dr., Gen.,
// Maj.-Gen.), an abbreviation that takes a number (No. 2, Aug. 7) or one that
// rarely ends a sentence (vs., e.g., т.е., им.). Ambiguous ones (U.S., Inc.,
// St., initials, г.) end a sentence only when the next word looks like the
// start of one ("The", "He", "В"). Decimals, URLs and e-mail addresses have no
// space after their dots and are never split; a quotation that ends with the
// sentence (."  ?”  !’) stays with it; a lower-case next word never starts a
// sentence. Russian abbreviations may be spaced ("т. е.", "т. д."), and
// initials run together ("А. Г. Лукашенко"). Persian and Arabic end a
// sentence with ".", "!" or "؟" (and Urdu's "۔"); their "،" and "؛" are a
// comma and a semicolon, and their letters have no case, so a full stop
// before a Persian word ends the sentence unless an abbreviation holds it.
func Sentences(text string) []string {
	var out []string
	for _, p := range paragraphs(text) {
		out = splitParagraph(p, out)
	}
	return out
}

// paragraphs returns the blocks of text between blank lines with their
// whitespace collapsed to single spaces.
func paragraphs(text string) []string {
	var out []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, " "))
			cur = cur[:0]
		}
	}
	for line := range strings.SplitSeq(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			flush()
			continue
		}
		cur = append(cur, strings.Join(f, " "))
	}
	flush()
	return out
}

// splitParagraph appends the sentences of p (single-spaced) to out.
func splitParagraph(p string, out []string) []string {
	start := 0
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRuneInString(p[i:])
		if !isTerminal(r) {
			i += size
			continue
		}
		// The run of terminal punctuation, then closing quotes and brackets.
		j := i
		for j < len(p) {
			r2, s2 := utf8.DecodeRuneInString(p[j:])
			if !isTerminal(r2) {
				break
			}
			j += s2
		}
		punct := p[i:j]
		closeStart := j
		for j < len(p) {
			r2, s2 := utf8.DecodeRuneInString(p[j:])
			if !isCloser(r2) {
				break
			}
			j += s2
		}
		closed := j > closeStart
		if j >= len(p) || p[j] != ' ' {
			// "3.5", "cnn.com", "U.S" inside "U.S.", or the paragraph's end.
			i = j
			continue
		}
		prev := spacedAbbreviation(p, start, i)
		next := p[j+1:]
		if k := strings.IndexByte(next, ' '); k >= 0 {
			next = next[:k]
		}
		if isBoundary(prev, punct, closed, next) {
			if s := strings.TrimSpace(p[start:j]); s != "" {
				out = append(out, s)
			}
			start = j + 1
		}
		i = j
	}
	if s := strings.TrimSpace(p[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

func isTerminal(r rune) bool {
	return r == '.' || r == '!' || r == '?' || r == '…' || r == '؟' || r == '۔'
}

// isCloser reports runes that close a quotation or a parenthesis. A straight
// quote right after terminal punctuation closes rather than opens.
func isCloser(r rune) bool {
	switch r {
	case '"', '\'', '”', '’', '»', ')', ']', '}', '›':
		return true
	}
	return false
}

func isOpener(r rune) bool {
	switch r {
	case '"', '\'', '“', '‘', '«', '(', '[', '{', '„', '‹', '¿', '¡':
		return true
	}
	return false
}

// wordBefore returns the whitespace-delimited token that ends at end, with
// opening quotes and brackets removed ("(Gen" → "Gen").
func wordBefore(p string, start, end int) string {
	k := strings.LastIndexByte(p[start:end], ' ')
	w := p[start+k+1 : end]
	return strings.TrimLeftFunc(w, isOpener)
}

// spacedAbbreviation returns the word before p[end] as wordBefore does,
// or, when it is one letter after another one-letter word with its full
// stop ("т. е", "т. д"), the two written as one ("т.е"), so that a spaced
// Russian abbreviation is judged as the unspaced one.
func spacedAbbreviation(p string, start, end int) string {
	w := wordBefore(p, start, end)
	if utf8.RuneCountInString(w) != 1 {
		return w
	}
	before := end - len(w) - 1 // the space before w
	if before <= start || p[before] != ' ' {
		return w
	}
	v := wordBefore(p, start, before)
	if utf8.RuneCountInString(v) != 2 || !strings.HasSuffix(v, ".") {
		return w
	}
	joined := v + w
	if low := strings.ToLower(joined); neverFinal[low] || ambiguous[low] {
		return joined
	}
	return w
}

// isBoundary decides whether punct after prev, followed by the word next,
// ends a sentence.
func isBoundary(prev, punct string, closed bool, next string) bool {
	next = strings.TrimLeftFunc(next, isOpener)
	nr, _ := utf8.DecodeRuneInString(next)
	if unicode.IsLower(nr) {
		// "“Why?” he asked", "approx. five", "wait... and then".
		return false
	}
	if strings.ContainsAny(punct, "!?") || closed {
		return true
	}
	if punct != "." {
		return true // an ellipsis before a capital: a new sentence
	}
	return !abbreviationHolds(prev, next)
}

// abbreviationHolds reports whether the full stop after prev belongs to an
// abbreviation that continues the sentence into next.
func abbreviationHolds(prev, next string) bool {
	if prev == "" {
		return false
	}
	low := strings.ToLower(prev)
	// "Maj.-Gen" and "Lt.-Col": what matters is the last part.
	last := low
	if k := strings.LastIndexAny(last, "-‐"); k >= 0 {
		last = last[k+1:]
	}
	nextDigit := next != "" && next[0] >= '0' && next[0] <= '9'
	switch {
	case titles[last] || neverFinal[low] || neverFinal[last]:
		return true
	case takesNumber[last] && nextDigit:
		return true
	case months[last]:
		// "Aug. 7"; "… in Aug. The" ends a sentence with the month.
		return nextDigit
	case isInitial(prev) && isInitial(strings.TrimSuffix(next, ".")) && strings.HasSuffix(next, "."):
		// "А. Г. Лукашенко", "В. В. Путин": another initial follows, even
		// one that is also a word that starts sentences (В).
		return true
	case ambiguous[low] || ambiguous[last] || isInitialism(prev) || isInitial(prev):
		return !startsSentence(next)
	}
	return false
}

// startsSentence reports whether a capitalised word is one that typically
// begins a sentence (a pronoun, article, conjunction or preposition), or
// is a quotation opening.
func startsSentence(next string) bool {
	if next == "" {
		return true
	}
	r, _ := utf8.DecodeRuneInString(next)
	if !unicode.IsUpper(r) {
		return false
	}
	w := strings.ToLower(strings.TrimRightFunc(next, func(r rune) bool { return !unicode.IsLetter(r) }))
	return sentenceStarters[w]
}

// isInitialism matches dotted letter groups such as "U.S", "U.K", "a.m",
// "Ph.D" and "т.е" (the final dot is the one being judged).
func isInitialism(w string) bool {
	if !strings.Contains(w, ".") {
		return false
	}
	for part := range strings.SplitSeq(w, ".") {
		n := utf8.RuneCountInString(part)
		if n == 0 || n > 2 {
			return false
		}
		for _, r := range part {
			if !unicode.IsLetter(r) {
				return false
			}
		}
	}
	return true
}

// isInitial matches a single capital letter: "J" in "J. R. R. Tolkien",
// "А" in "А. Лукашенко".
func isInitial(w string) bool {
	r, size := utf8.DecodeRuneInString(w)
	return size == len(w) && unicode.IsUpper(r)
}

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// titles precede a name and never end a sentence.
var titles = set(
	"mr", "mrs", "ms", "messrs", "mme", "mlle", "dr", "drs", "prof", "rev", "revd", "hon", "pres",
	"gen", "gens", "maj", "brig", "lt", "col", "capt", "cpt", "cmdr", "cdr", "adm", "sgt", "cpl",
	"pvt", "pfc", "spc", "ens", "gov", "govs", "sen", "sens", "rep", "reps", "supt", "insp", "det",
	"fr", "sr", "mt", "amb", "atty", "sec", "lieut", "comdr", "rt",
	// Cyrillic: professor, academician, general, colonel, comrade, citizen.
	"проф", "акад", "ген", "полк", "тов", "гр", "им", "св",
)

// neverFinal are abbreviations that are followed by more of the sentence.
var neverFinal = set(
	"vs", "v", "e.g", "i.e", "cf", "viz", "approx", "ca", "incl", "esp", "fig", "figs", "al",
	"т.е", "т.к", "т.н", "т.ч", "т.о", "напр", "ул", "просп", "пр-т", "см", "ср", "пос", "обл",
)

// takesNumber are abbreviations followed by a number: "No. 2", "Vol. 3".
var takesNumber = set("no", "nos", "vol", "vols", "p", "pp", "art", "ch", "sec", "op", "nr", "№", "д", "стр", "рис", "ст")

var months = set("jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
	"янв", "фев", "февр", "мар", "апр", "июн", "июл", "авг", "сен", "сент", "окт", "ноя", "нояб", "дек")

// ambiguous abbreviations end a sentence as often as not ("Apple Inc. said"
// vs "… at Apple Inc. The company …").
var ambiguous = set(
	"inc", "ltd", "corp", "co", "jr", "bros", "llc", "plc", "dept", "univ", "ft", "st", "ave",
	"blvd", "etc", "est", "a.m", "p.m", "u.s", "u.k", "u.n", "e.u", "d.c",
	"г", "гг", "в", "вв", "млн", "млрд", "тыс", "руб", "коп", "н.э", "др", "пр", "т.д", "т.п",
)

// sentenceStarters are words that, capitalised after an ambiguous
// abbreviation, show that a new sentence has begun.
var sentenceStarters = set(
	"the", "a", "an", "he", "she", "it", "they", "we", "i", "you", "his", "her", "its", "their",
	"our", "this", "that", "these", "those", "there", "but", "and", "or", "so", "yet", "in", "on",
	"at", "for", "after", "before", "when", "while", "if", "as", "since", "although", "however",
	"meanwhile", "then", "now", "what", "who", "why", "how", "where", "some", "many", "most",
	"all", "no", "not", "one", "two", "both", "each", "such", "other", "last", "earlier", "later",
	"он", "она", "оно", "они", "мы", "я", "вы", "это", "этот", "эта", "эти", "в", "во", "на", "по",
	"но", "и", "а", "как", "когда", "при", "после", "до", "для", "с", "со", "его", "ее", "её", "их",
	"там", "тогда", "однако", "также", "кроме", "что", "кто", "где",
)
