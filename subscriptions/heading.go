package subscriptions

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Heading says in words what the query asks for, for a reader rather than
// a parser: `"military cooperation" iran -israel` reads "military
// cooperation · Iran, not Israel". Digests head each topic's articles with
// it (the query itself goes beside it, for whoever wants the syntax).
func (q *Query) Heading() string { return q.HeadingIn(English) }

// HeadingWords are the few words a heading is built with, so that it can
// be written in the reader's language (the mailer fills them from locale).
type HeadingWords struct {
	Not, Or, From, InTitle string
}

// English are Heading's words.
var English = HeadingWords{Not: "not", Or: "or", From: "from", InTitle: "in the title"}

// HeadingIn is Heading with the given words: "военное сотрудничество ·
// Iran, не Israel".
func (q *Query) HeadingIn(w HeadingWords) string { return heading(q.root, &w) }

func heading(n *node, w *HeadingWords) string {
	switch n.op {
	case opTerm:
		return termHeading(n, w)
	case opNot:
		return w.Not + " " + heading(n.kids[0], w)
	case opOr:
		parts := make([]string, len(n.kids))
		for i, k := range n.kids {
			parts[i] = heading(k, w)
			if k.op == opAnd {
				parts[i] = "(" + parts[i] + ")"
			}
		}
		return strings.Join(parts, " "+w.Or+" ")
	}
	// AND: what must be there, then what must not.
	var with, without []string
	for _, k := range n.kids {
		if k.op == opNot {
			without = append(without, heading(k.kids[0], w))
		} else {
			with = append(with, heading(k, w))
		}
	}
	s := strings.Join(with, " · ")
	if len(without) > 0 {
		if s != "" {
			s += ", "
		}
		s += w.Not + " " + strings.Join(without, " "+w.Or+" ")
	}
	return s
}

func termHeading(n *node, w *HeadingWords) string {
	var s string
	switch n.kind {
	case termSite:
		return w.From + " " + n.words[0]
	case termWord:
		s = capitalize(n.words[0])
	case termPrefix:
		s = capitalize(n.words[0]) + "…"
	case termPhrase:
		s = strings.Join(n.words, " ")
	}
	if n.title {
		s += " (" + w.InTitle + ")"
	}
	return s
}

// capitalize upper-cases a word's first letter: words are kept folded to
// lower case, and a single word in a heading is most often a name.
func capitalize(w string) string {
	r, size := utf8.DecodeRuneInString(w)
	if r == utf8.RuneError {
		return w
	}
	return string(unicode.ToUpper(r)) + w[size:]
}
