package watcher

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/net/html/charset"
)

// OPML is the outline format feed readers exchange subscription lists in
// (OPML 2.0, opml.org/spec2). Only what a feed list needs is read: every
// outline with an xmlUrl, at any depth (readers nest feeds in folders).

// OPMLFeed is one feed in an OPML file.
type OPMLFeed struct {
	URL   string // xmlUrl
	Title string // text or title
	Site  string // htmlUrl
}

type opmlOutline struct {
	Text     string        `xml:"text,attr,omitempty"`
	Title    string        `xml:"title,attr,omitempty"`
	Type     string        `xml:"type,attr,omitempty"`
	XMLURL   string        `xml:"xmlUrl,attr,omitempty"`
	HTMLURL  string        `xml:"htmlUrl,attr,omitempty"`
	Children []opmlOutline `xml:"outline"`
}

type opmlDoc struct {
	XMLName xml.Name `xml:"opml"`
	Version string   `xml:"version,attr"`
	Head    struct {
		Title       string `xml:"title,omitempty"`
		DateCreated string `xml:"dateCreated,omitempty"`
	} `xml:"head"`
	Body struct {
		Outlines []opmlOutline `xml:"outline"`
	} `xml:"body"`
}

// MaxOPMLFeeds bounds what one import may add.
const MaxOPMLFeeds = 10000

// ErrNotOPML means the document is not an OPML outline.
var ErrNotOPML = errors.New("not an OPML document")

// ReadOPML returns the feeds listed in an OPML document, in document order,
// without duplicates.
func ReadOPML(r io.Reader) ([]OPMLFeed, error) {
	dec := xml.NewDecoder(io.LimitReader(r, 20<<20))
	// Exported files say UTF-8 almost always; some older readers wrote
	// ISO-8859-1 or windows-1252.
	dec.CharsetReader = charset.NewReaderLabel
	var doc opmlDoc
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotOPML, err)
	}
	var out []OPMLFeed
	seen := map[string]bool{}
	var walk func([]opmlOutline, int) error
	walk = func(os []opmlOutline, depth int) error {
		if depth > 32 {
			return fmt.Errorf("%w: outlines nested too deep", ErrNotOPML)
		}
		for _, o := range os {
			if o.XMLURL != "" && !seen[o.XMLURL] {
				if len(out) >= MaxOPMLFeeds {
					return fmt.Errorf("more than %d feeds in one file", MaxOPMLFeeds)
				}
				seen[o.XMLURL] = true
				title := o.Title
				if title == "" {
					title = o.Text
				}
				out = append(out, OPMLFeed{URL: o.XMLURL, Title: title, Site: o.HTMLURL})
			}
			if err := walk(o.Children, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(doc.Body.Outlines, 0); err != nil {
		return nil, err
	}
	return out, nil
}

// WriteOPML writes feeds as an OPML 2.0 document; encoding/xml escapes
// every attribute, so titles taken from feeds cannot break the file.
func WriteOPML(wr io.Writer, title string, feeds []OPMLFeed, now time.Time) error {
	var doc opmlDoc
	doc.Version = "2.0"
	doc.Head.Title = title
	doc.Head.DateCreated = now.UTC().Format(time.RFC1123Z)
	for _, f := range feeds {
		text := f.Title
		if text == "" {
			text = f.URL
		}
		doc.Body.Outlines = append(doc.Body.Outlines, opmlOutline{Text: text, Title: f.Title, Type: "rss", XMLURL: f.URL, HTMLURL: f.Site})
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write opml: %w", err)
	}
	buf.WriteByte('\n')
	_, err := wr.Write(buf.Bytes())
	return err
}
