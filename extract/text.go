package extract

import (
	"strings"
	"unicode"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// blockTags start a new paragraph. Both extractors return HTML trees; we
// render them ourselves so the two texts have the same shape (one block per
// paragraph, a blank line between) and can be compared fairly.
var blockTags = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true,
	atom.Dd: true, atom.Details: true, atom.Dialog: true, atom.Div: true,
	atom.Dl: true, atom.Dt: true, atom.Fieldset: true, atom.Figure: true,
	atom.Footer: true, atom.Form: true, atom.H1: true, atom.H2: true,
	atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Header: true, atom.Hr: true, atom.Li: true, atom.Main: true,
	atom.Nav: true, atom.Ol: true, atom.P: true, atom.Pre: true,
	atom.Section: true, atom.Table: true, atom.Tr: true, atom.Ul: true,
	atom.Caption: true, atom.Summary: true, atom.Body: true,
}

// skipTags never hold article prose. Captions are skipped because the body
// text is for matching and summaries, where a caption is noise.
var skipTags = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Iframe: true, atom.Svg: true, atom.Math: true, atom.Button: true,
	atom.Select: true, atom.Option: true, atom.Textarea: true, atom.Input: true,
	atom.Head: true, atom.Title: true, atom.Figcaption: true, atom.Object: true,
	atom.Embed: true, atom.Canvas: true, atom.Audio: true, atom.Video: true,
}

type textWriter struct {
	paras []string
	cur   strings.Builder
	pre   int
	space bool // last rune written to cur was collapsible whitespace
}

// renderText returns the plain text of n: paragraphs separated by a blank
// line, lines within a paragraph (from <br> or <pre>) by a newline.
func renderText(n *html.Node) string {
	if n == nil {
		return ""
	}
	w := &textWriter{}
	w.walk(n)
	w.flush()
	return strings.Join(w.paras, "\n\n")
}

func (w *textWriter) flush() {
	lines := strings.Split(w.cur.String(), "\n")
	kept := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			kept = append(kept, l)
		}
	}
	if len(kept) > 0 {
		w.paras = append(w.paras, strings.Join(kept, "\n"))
	}
	w.cur.Reset()
	w.space = false
}

func (w *textWriter) text(s string) {
	if w.pre > 0 {
		w.cur.WriteString(s)
		return
	}
	for _, r := range s {
		if unicode.IsSpace(r) && r != '\u00a0' {
			if !w.space {
				w.cur.WriteByte(' ')
				w.space = true
			}
			continue
		}
		if r == '\u00a0' {
			r = ' '
		}
		// Invisible characters only break words apart in matching.
		if r == '\u200b' || r == '\u200c' || r == '\u200d' || r == '\ufeff' || r == '\u00ad' {
			continue
		}
		w.cur.WriteRune(r)
		w.space = false
	}
}

func (w *textWriter) walk(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		w.text(n.Data)
		return
	case html.ElementNode:
		if skipTags[n.DataAtom] {
			return
		}
		switch n.DataAtom {
		case atom.Br:
			w.cur.WriteByte('\n')
			w.space = false
			return
		case atom.Td, atom.Th:
			w.text(" ")
			defer w.text(" ")
		case atom.Pre:
			w.pre++
			defer func() { w.pre-- }()
		}
		if blockTags[n.DataAtom] {
			w.flush()
			defer w.flush()
		}
	case html.CommentNode, html.DoctypeNode:
		return
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.walk(c)
	}
}

// countElements counts element nodes up to limit.
func countElements(n *html.Node, limit int) int {
	count := 0
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil && count < limit; c = c.NextSibling {
			if c.Type == html.ElementNode {
				count++
			}
			walk(c)
		}
	}
	walk(n)
	return count
}
