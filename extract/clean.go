package extract

import (
	"strings"
	"unicode"
)

// boilerLines are whole paragraphs that news pages put inside the article
// body but that are page furniture, not prose. Only exact paragraphs (after
// lower-casing and trimming punctuation) are dropped, so a sentence that
// merely contains these words is safe.
var boilerLines = map[string]bool{
	"advertisement": true, "advertisements": true, "ad": true, "sponsored": true,
	"continue reading below": true, "continue reading": true, "story continues below": true,
	"article continues below": true, "story continues below advertisement": true,
	"read more": true, "more": true, "related": true, "see also": true,
	"share": true, "share this article": true, "share this": true,
	"don't miss": true, "trending": true, "recommended": true,
	"skip advertisement": true, "scroll to continue with content": true,
}

// postClean removes what both extractors leave in: the headline repeated as
// the first paragraph (it is the title, kept in Result.Title) and furniture
// lines such as "Advertisement".
func postClean(text, title string) string {
	paras := strings.Split(text, "\n\n")
	kept := paras[:0]
	for i, p := range paras {
		key := boilerKey(p)
		if boilerLines[key] {
			continue
		}
		if i == 0 && title != "" && key == boilerKey(title) {
			continue
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, "\n\n")
}

func boilerKey(s string) string {
	s = strings.ToLower(strings.Join(strings.Fields(s), " "))
	s = strings.NewReplacer("’", "'").Replace(s)
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) })
}
