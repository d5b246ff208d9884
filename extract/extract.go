// Package extract turns an article's HTML page into its main text and
// metadata (title, byline, date, site, language, canonical URL). It runs
// go-trafilatura and readeck's go-readability on the same parsed page and
// keeps whichever body text is better by the rule in choose (rule.go);
// metadata is taken field by field from whichever source reads it best.
//
// Result.Canonical is the page's own claim; pass it through
// article.Canonical before using it as an identity.
package extract

import (
	"bytes"
	"errors"
	"fmt"
	nurl "net/url"
	"time"

	readability "codeberg.org/readeck/go-readability/v2"
	"github.com/markusmobius/go-trafilatura"
	"golang.org/x/net/html"
)

// Result is what extraction finds on one page. Strings are plain text and
// untrusted: escape them where they land.
type Result struct {
	Title     string
	Byline    string
	Published *time.Time // UTC; nil when the page names no date
	SiteName  string
	Lang      string
	Text      string // main body, paragraphs separated by a blank line
	Canonical string // absolute <link rel=canonical>, empty when absent
}

// ErrNoContent means neither extractor found an article body on the page.
var ErrNoContent = errors.New("no article text found")

// maxElements bounds the work done on one page: both extractors walk the
// tree many times (about 0.1 ms of CPU per element, measured), and a page
// beyond this size is not a news article: the benchmark's pages have at
// most 1,600 elements, heavy real pages 10,000-20,000.
const maxElements = 50_000

// FromHTML extracts the article from an HTML page. pageURL, when given,
// resolves relative links (canonical URL) and helps the extractors; the
// page's bytes may be in any charset its meta tags declare.
func FromHTML(page []byte, pageURL string) (res *Result, err error) {
	// The libraries recover their own panics below; this catches ours, so
	// no page can take the process down.
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("extract: internal error on this page: %v", r)
		}
	}()
	c, err := run(page, pageURL)
	if err != nil {
		return nil, err
	}
	res = c.result()
	if res.Text == "" {
		return res, fmt.Errorf("extract: %w", ErrNoContent)
	}
	return res, nil
}

// candidates is every reading of one page, before choosing.
type candidates struct {
	base *nurl.URL
	page *pageMeta
	tr   *trafResult // nil when trafilatura failed
	ra   *raResult   // nil when readability failed
}

// result chooses the text and merges the metadata.
func (c *candidates) result() *Result {
	res := &Result{}
	mergeMetadata(res, c.base, c.page, c.tr, c.ra)
	res.Text = postClean(chooseText(c.tr, c.ra), res.Title)
	return res
}

func run(page []byte, pageURL string) (*candidates, error) {
	var base *nurl.URL
	if pageURL != "" {
		u, err := nurl.Parse(pageURL)
		if err != nil || !u.IsAbs() {
			return nil, fmt.Errorf("extract: page url %q is not absolute", pageURL)
		}
		base = u
	}
	doc, err := parse(page)
	if err != nil {
		return nil, fmt.Errorf("extract: parse html: %w", err)
	}
	if n := countElements(doc, maxElements+1); n > maxElements {
		return nil, fmt.Errorf("extract: page too large: over %d elements", maxElements)
	}
	if b := baseHref(doc, base); b != nil {
		base = b
	}
	c := &candidates{base: base, page: readPage(doc, base)}
	var raErr, trErr error
	c.ra, raErr = runReadability(doc, base)
	c.tr, trErr = runTrafilatura(doc, base)
	if trErr != nil && raErr != nil {
		return nil, fmt.Errorf("extract: %w (trafilatura: %v; readability: %v)", ErrNoContent, trErr, raErr)
	}
	return c, nil
}

// parse decodes the page to UTF-8 and parses it once; both extractors get
// the same tree (each works on its own copy).
func parse(page []byte) (*html.Node, error) {
	text, err := toUTF8(page)
	if err != nil {
		return nil, err
	}
	return html.Parse(bytes.NewReader(text))
}

// trafResult is go-trafilatura's reading of a page, rendered our way.
type trafResult struct {
	text string
	meta trafilatura.Metadata
}

// raResult is go-readability's reading of a page.
type raResult struct {
	art  readability.Article
	text string
}

// runTrafilatura extracts with go-trafilatura; a panic inside the library
// becomes an error.
func runTrafilatura(doc *html.Node, base *nurl.URL) (tr *trafResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			tr, err = nil, fmt.Errorf("trafilatura panicked: %v", r)
		}
	}()
	out, err := trafilatura.ExtractDocument(doc, trafOptions(base))
	if err != nil {
		return nil, err
	}
	return &trafResult{text: renderText(out.ContentNode), meta: out.Metadata}, nil
}

// trafOptions are the go-trafilatura settings. Precision focus: recall is
// readability's job in choose. Its own fallback (an older go-readability and
// DOM Distiller) is off because choose already falls back to readeck's
// readability, and measured no better with it on.
func trafOptions(base *nurl.URL) trafilatura.Options {
	return trafilatura.Options{
		OriginalURL:     base,
		ExcludeComments: true,
		Focus:           trafilatura.FavorPrecision,
		// Metadata only: a date guessed from the body text is often the
		// date of something else on the page.
		HtmlDateMode: trafilatura.Disabled,
	}
}

// runReadability extracts with readeck's go-readability, bounded like the
// rest; a panic inside the library becomes an error.
func runReadability(doc *html.Node, base *nurl.URL) (ra *raResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			ra, err = nil, fmt.Errorf("readability panicked: %v", r)
		}
	}()
	p := readability.NewParser()
	p.MaxElemsToParse = maxElements
	art, err := p.ParseDocument(doc, base)
	if err != nil {
		return nil, err
	}
	return &raResult{art: art, text: renderText(art.Node)}, nil
}
