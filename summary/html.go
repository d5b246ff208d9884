package summary

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// FromHTML returns the plain text of an HTML document or fragment:
// paragraphs (block elements, <br>) separated by blank lines, entities
// decoded, and nothing from scripts, styles, navigation, figures or forms.
// It is for summarising HTML handed in as is (a feed's content:encoded, a
// saved page); full pages are better served by package extract.
func FromHTML(page string) string {
	z := html.NewTokenizer(strings.NewReader(page))
	var b strings.Builder
	skip := 0 // depth inside elements whose text is never prose
	paraBreak := func() {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n\n") {
			b.WriteString("\n\n")
		}
	}
	for {
		switch z.Next() {
		case html.ErrorToken:
			return strings.TrimSpace(collapseSpaces(b.String()))
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if htmlSkip[a] {
				if a != atom.Br && a != atom.Img && a != atom.Hr && a != atom.Input {
					skip++
				}
				continue
			}
			if a == atom.Br {
				b.WriteString("\n")
			} else if htmlBlock[a] {
				paraBreak()
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if htmlSkip[a] {
				if skip > 0 {
					skip--
				}
				continue
			}
			if htmlBlock[a] {
				paraBreak()
			}
		}
	}
}

// collapseSpaces turns runs of spaces and tabs into one space and trims
// each line, keeping the line structure.
func collapseSpaces(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

// looksLikeHTML reports text that is markup rather than prose.
func looksLikeHTML(s string) bool {
	t := strings.TrimSpace(strings.TrimPrefix(s, "\ufeff"))
	if len(t) > 512 {
		t = t[:512]
	}
	low := strings.ToLower(t)
	if strings.HasPrefix(low, "<!doctype") || strings.HasPrefix(low, "<html") {
		return true
	}
	for _, tag := range []string{"<p>", "<p ", "<div", "<br", "<body", "<article", "<span", "<h1", "<h2", "<a href", "<li>", "<ul>"} {
		if strings.Contains(low, tag) {
			return true
		}
	}
	return false
}

var htmlBlock = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Section: true, atom.Article: true, atom.Main: true,
	atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Li: true, atom.Ul: true, atom.Ol: true, atom.Blockquote: true, atom.Pre: true,
	atom.Tr: true, atom.Table: true, atom.Dd: true, atom.Dt: true, atom.Dl: true, atom.Hr: true,
	atom.Body: true, atom.Address: true, atom.Details: true,
}

// htmlSkip elements hold no article prose; figure captions are dropped here
// for the same reason Clean drops them in plain text.
var htmlSkip = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Head: true, atom.Title: true, atom.Nav: true, atom.Header: true, atom.Footer: true,
	atom.Aside: true, atom.Figure: true, atom.Figcaption: true, atom.Form: true,
	atom.Button: true, atom.Select: true, atom.Textarea: true, atom.Iframe: true,
	atom.Svg: true, atom.Math: true, atom.Object: true, atom.Video: true, atom.Audio: true,
	atom.Canvas: true, atom.Img: true, atom.Input: true,
}
