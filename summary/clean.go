package summary

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clean removes page furniture from an article's plain text: timestamp and
// dateline lines, logos, placeholders left where a picture was, photo
// captions, bylines, share and subscribe prompts, "Read more" and
// "Advertisement" lines, and headlines and kickers above the first
// paragraph. It keeps paragraphs separated by a blank line.
func Clean(text string) string {
	return CleanWithTitle(text, "")
}

// CleanWithTitle is Clean that also drops any line repeating title.
func CleanWithTitle(text, title string) string {
	out, _ := clean(text, title)
	return out
}

// clean does the work of CleanWithTitle and also returns the headline it
// found above the body (the longest dropped header line), which stands in
// for the title when the caller has none.
func clean(text, title string) (out, headline string) {
	normTitle := lineKey(title)
	// Lines first: furniture sits on lines of its own.
	var blocks [][]string
	var cur []string
	seen := map[string]bool{}
	for raw := range strings.SplitSeq(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line := strings.Join(strings.Fields(raw), " ")
		if line == "" {
			if len(cur) > 0 {
				blocks = append(blocks, cur)
				cur = nil
			}
			continue
		}
		line = dropLinkTail(line)
		key := lineKey(line)
		if line == "" || key == "" || isFurniture(line) || (normTitle != "" && key == normTitle) {
			continue
		}
		if seen[key] {
			// A byline or caption repeated further down the page.
			continue
		}
		seen[key] = true
		cur = append(cur, line)
	}
	if len(cur) > 0 {
		blocks = append(blocks, cur)
	}

	// Headlines, kickers and section names above the body: short lines
	// without final punctuation before the first real paragraph.
	first := -1
	for i, b := range blocks {
		if isBodyLine(strings.Join(b, " ")) {
			first = i
			break
		}
	}
	if first > 0 {
		for _, b := range blocks[:first] {
			for _, l := range b {
				if n := len(strings.Fields(l)); n >= 3 && n > len(strings.Fields(headline)) {
					headline = l
				}
			}
		}
		blocks = blocks[first:]
	}
	// The dateline opens the first paragraph of the story proper, which a
	// caption or an editor's note may precede.
	for i := range min(3, len(blocks)) {
		blocks[i][0] = dateline.ReplaceAllString(blocks[i][0], "")
	}

	paras := make([]string, len(blocks))
	for i, b := range blocks {
		paras[i] = strings.Join(b, "\n")
	}
	paras = dropEchoes(paras)
	return strings.Join(paras, "\n\n"), headline
}

// isBodyLine reports a paragraph of prose: a sentence of some length that
// ends as sentences do.
func isBodyLine(s string) bool {
	n := len(strings.Fields(s))
	if n >= 25 {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(s)
	return n >= 6 && strings.ContainsRune(".!?…\"”’»)", r)
}

var (
	// "Last update: September 21, 2024 01:21", "Updated 10:32 AM EDT".
	stampLine = regexp.MustCompile(`(?i)^(last\s+)?(update|updated|published|posted|modified|created|обновлено|опубликовано)\b`)
	// "By Nigar Bayramli August 8, 2024", "By Jane Doe and John Roe, CNN".
	bylineLine = regexp.MustCompile(`^(By|BY|by|Автор:?)\s+\p{Lu}`)
	// A photo credit closing a caption: "… in Tehran. / IRNA news agency",
	// "(Photo: Reuters)", "Photograph: AP", "Getty Images".
	creditTail = regexp.MustCompile(`(?i)(\s/\s*[\p{L}\p{N}][^/.!?]{1,48}|\((photo|image|picture|credit|source|фото)[^)]{0,60}\)|\b(photo|photograph|image|picture|credit|фото)s?\s*(by|:)\s*[^.]{2,60}|getty images|ap photo[^.]{0,40}|(reuters|afp|epa|ap)/\S+)\.?$`)
	// "Share this article", "Subscribe to our newsletter", "Read more: …".
	promptLine = regexp.MustCompile(`(?i)^(share( this| on| via)?|subscribe|sign up|follow us|click here|tap here|read more|read also|read next|related|see also|continue reading|download (the|our)|get the latest|join us|support us|like us|also read|читайте также|подписывайтесь|поделиться)\b`)
	// A dateline opening the first paragraph: "WASHINGTON (CNN) -- ",
	// "BAGHDAD, Iraq (CNN) -- ", "(CNN)", "MOSCOW, Aug 8 (Reuters) - ",
	// "LONDON — ".
	dateline = regexp.MustCompile(`^(?:(?:\p{Lu}[\p{Lu}\p{M}.'’ -]+\p{Lu}(?:,\s*[\p{L}\p{N}. ]{2,30}?)?\s*)?\((?:CNN|AP|AFP|Reuters|UPI|dpa|Xinhua|IANS|PTI|TASS|BBC|EFE|ANSA|Bloomberg|RFE/RL|IRNA|ТАСС|РИА Новости|БЕЛТА|Интерфакс)\)\s*(?:--|—|–|-)?\s*|\p{Lu}[\p{Lu}\p{M}.'’ ]+\p{Lu}(?:,\s*[\p{L}\p{N}. ]{2,30}?)?\s+(?:--|—|–)\s+)`)
	// Date-only lines: "August 8, 2024", "08.08.2024 12:00 GMT".
	dateWords = regexp.MustCompile(`(?i)\b(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?|oct(ober)?|nov(ember)?|dec(ember)?|mon(day)?|tue(sday)?|wed(nesday)?|thu(rsday)?|fri(day)?|sat(urday)?|sun(day)?|am|pm|a\.m|p\.m|gmt|utc|est|edt|cet|cest|msk|bst|pst|pdt|updated|at)\b`)
)

// placeholders are whole lines that stand for something the text lost.
var placeholders = set(
	"none", "null", "nil", "undefined", "n/a", "nan", "image", "photo", "picture", "video",
	"audio", "gallery", "advertisement", "advertising", "ad", "sponsored", "sponsored content",
	"loading", "loading...", "share", "tweet", "print", "email", "e-mail", "comments", "comment",
	"close", "menu", "skip to content", "skip to main content", "reklama", "реклама",
	"read more", "continue reading", "more", "back to top", "top",
)

// isFurniture reports a line that is page furniture rather than prose.
func isFurniture(line string) bool {
	low := strings.ToLower(strings.TrimRight(line, " .:…"))
	if placeholders[low] {
		return true
	}
	ws := strings.Fields(line)
	n := len(ws)
	hasLetter := strings.IndexFunc(line, unicode.IsLetter) >= 0
	// Cheap tests guard the regular expressions: this runs on every line.
	switch {
	case !hasLetter:
		return true // rules, bullets, bare numbers
	case strings.HasPrefix(low, "editor's note:") || strings.HasPrefix(low, "editor’s note:"):
		return true
	case n <= 6 && strings.Contains(low, "logo"):
		return true
	case n <= 12 && stampLine.MatchString(line) && strings.IndexFunc(line, unicode.IsDigit) >= 0:
		return true
	case n <= 15 && promptLine.MatchString(line):
		return true
	case n <= 14 && bylineLine.MatchString(line) && isNameLine(ws[1:]):
		return true
	case n <= 10 && isDateLine(line):
		return true
	case n <= 60 && hasCredit(line, low):
		return true
	}
	return false
}

// hasCredit reports a caption ending in a photo credit. Only the end of the
// line can hold one, so only the end is searched.
func hasCredit(line, low string) bool {
	if !strings.Contains(low, "/") && !strings.Contains(low, "photo") && !strings.Contains(low, "image") &&
		!strings.Contains(low, "credit") && !strings.Contains(low, "picture") && !strings.Contains(low, "фото") {
		return false
	}
	if len(line) > 120 {
		cut := len(line) - 120
		for cut < len(line) && !utf8.RuneStart(line[cut]) {
			cut++
		}
		line = line[cut:]
	}
	return creditTail.MatchString(line)
}

// isNameLine reports words that read like names, dates and affiliations
// ("Nigar Bayramli August 8, 2024", "Jane Doe and John Roe, CNN") rather than a
// sentence ("By noon the square was full.").
func isNameLine(ws []string) bool {
	for _, w := range ws {
		w = strings.Trim(w, ",;|·•-–—()")
		if w == "" || w == "and" || w == "&" || w == "de" || w == "van" || w == "von" || w == "al" || w == "bin" || w == "и" {
			continue
		}
		r, _ := utf8.DecodeRuneInString(w)
		if !unicode.IsUpper(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	r, _ := utf8.DecodeLastRuneInString(ws[len(ws)-1])
	return r != '.' || len(ws) <= 3
}

// isDateLine reports a line made only of a date and time.
func isDateLine(line string) bool {
	rest := dateWords.ReplaceAllString(line, "")
	return strings.IndexFunc(rest, unicode.IsLetter) < 0 && strings.IndexFunc(rest, unicode.IsDigit) >= 0
}

// dropEchoes removes short paragraphs that restate a neighbour: a photo
// caption placed next to the paragraph it illustrates, or a teaser line
// repeating the lead. The first paragraph is never dropped, and the echo
// must be shorter than the paragraph it echoes.
func dropEchoes(paras []string) []string {
	if len(paras) < 3 {
		return paras
	}
	lens := make([]int, len(paras))
	for i, p := range paras {
		lens[i] = len(strings.Fields(p))
	}
	// Word sets are built only for paragraphs that take part in a
	// comparison: a short one and its neighbours.
	sets := make([]map[string]bool, len(paras))
	set := func(i int) map[string]bool {
		if sets[i] == nil {
			sets[i] = map[string]bool{}
			for _, w := range words(paras[i]) {
				if len(w) > 1 && !isStop(w) {
					sets[i][crudeStem(w)] = true
				}
			}
		}
		return sets[i]
	}
	keep := paras[:0:0]
	for i, p := range paras {
		if i > 0 && isCaptionStyle(p) {
			continue
		}
		if i > 0 && lens[i] <= 30 && len(set(i)) >= 4 {
			echo := false
			for _, j := range []int{i - 1, i + 1} {
				if j < 0 || j >= len(paras) || lens[j] <= lens[i] {
					continue
				}
				shared := 0
				for t := range set(i) {
					if set(j)[t] {
						shared++
					}
				}
				if float64(shared) >= 0.6*float64(len(set(i))) {
					echo = true
				}
			}
			if echo {
				continue
			}
		}
		keep = append(keep, p)
	}
	return keep
}

// dropLinkTail removes link text that a page ran into a paragraph, marked
// by a closing guillemet or chevron: "… Bush told reporters. Watch the
// announcement »". A line that is nothing but such a link is emptied.
func dropLinkTail(line string) string {
	if !strings.HasSuffix(line, "»") && !strings.HasSuffix(line, "›") {
		return line
	}
	if strings.ContainsRune(line, '«') {
		return line // a quotation in guillemets, not a link
	}
	cut := -1
	for i := len(line) - 1; i > 0; i-- {
		if line[i] == ' ' && strings.ContainsRune(".!?\"”’", rune(line[i-1])) {
			cut = i
			break
		}
	}
	if cut < 0 {
		if len(strings.Fields(line)) <= 15 {
			return ""
		}
		return line
	}
	if len(line)-cut > 160 {
		return line
	}
	return strings.TrimSpace(line[:cut])
}

var (
	weekday = regexp.MustCompile(`\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b|\((left|right|center|centre|top|bottom)\)`)
	// A name followed by a verb in the present tense: "Bush pauses",
	// "Arellano holds".
	namePresent = regexp.MustCompile(`\b\p{Lu}\p{L}+ (\p{Ll}{2,}[^s's]s|is|are)\b`)
	attribution = regexp.MustCompile(`\b(said|says|told|tells|according)\b`)
)

// isCaptionStyle reports a paragraph written the way wire services write
// photo captions: short, in the present tense, saying when ("pauses
// Tuesday during a news conference"), with no quotation or attribution —
// a story tells in the past tense and cites its sources.
func isCaptionStyle(p string) bool {
	n := len(strings.Fields(p))
	if n > 30 || n < 4 || strings.ContainsAny(p, "\"“”«»") {
		return false
	}
	return weekday.MatchString(p) && namePresent.MatchString(p) && !attribution.MatchString(p)
}

// crudeStem keeps a word's first six bytes: enough to pair "resigned" with
// "resigns" when comparing paragraphs, at a fraction of Snowball's cost.
func crudeStem(w string) string {
	if len(w) <= 6 {
		return w
	}
	cut := 6
	for cut > 0 && !utf8.RuneStart(w[cut]) {
		cut--
	}
	return w[:cut]
}

// lineKey normalises a line for comparison: lower-cased letters and digits,
// single spaces between words.
func lineKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(r))
		case r == '\'' || r == '’' || unicode.IsMark(r):
		default:
			space = true
		}
	}
	return b.String()
}
