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
func (q *Query) Heading() string { return heading(q.root) }

func heading(n *node) string {
	switch n.op {
	case opTerm:
		return termHeading(n)
	case opNot:
		return "not " + heading(n.kids[0])
	case opOr:
		parts := make([]string, len(n.kids))
		for i, k := range n.kids {
			parts[i] = heading(k)
			if k.op == opAnd {
				parts[i] = "(" + parts[i] + ")"
			}
		}
		return strings.Join(parts, " or ")
	}
	// AND: what must be there, then what must not.
	var with, without []string
	for _, k := range n.kids {
		if k.op == opNot {
			without = append(without, heading(k.kids[0]))
		} else {
			with = append(with, heading(k))
		}
	}
	s := strings.Join(with, " · ")
	if len(without) > 0 {
		if s != "" {
			s += ", "
		}
		s += "not " + strings.Join(without, " or ")
	}
	return s
}

func termHeading(n *node) string {
	var s string
	switch n.kind {
	case termSite:
		return "from " + n.words[0]
	case termWord:
		s = capitalize(n.words[0])
	case termPrefix:
		s = capitalize(n.words[0]) + "…"
	case termPhrase:
		s = strings.Join(n.words, " ")
	}
	if n.title {
		s += " (in the title)"
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
