package feed

import (
	"bytes"
	"encoding/xml"
	"io"
)

// atomNS is the Atom 1.0 namespace (RFC 4287 §2).
const atomNS = "http://www.w3.org/2005/Atom"

// entryDocument wraps an Atom Entry Document (RFC 4287 §4.1.2: a lone
// <entry> as the root, as some sites push single entries) in an Atom feed
// element, so that it parses as a feed of one item. It returns nil when
// body's root element is anything else.
func entryDocument(body []byte) []byte {
	dec := xml.NewDecoder(bytes.NewReader(body))
	// The body is UTF-8 by now (toUTF8 rewrote any declaration); labels
	// the decoder does not know are no reason to give up on the root.
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if se.Name.Local != "entry" || se.Name.Space != atomNS {
			return nil
		}
		// Everything from the root element on goes inside <feed>; what
		// came before it is the declaration, comments and processing
		// instructions, which may not appear inside an element.
		start := rootStart(body)
		if start < 0 {
			return nil
		}
		var out bytes.Buffer
		out.Grow(len(body) + 64)
		out.WriteString(`<?xml version="1.0" encoding="utf-8"?><feed xmlns="` + atomNS + `">`)
		out.Write(body[start:])
		out.WriteString(`</feed>`)
		return out.Bytes()
	}
}

// rootStart is the offset of the root element's '<' in an XML document:
// the first '<' not opening a declaration, comment, processing instruction
// or doctype.
func rootStart(body []byte) int {
	for i := 0; i < len(body); {
		j := bytes.IndexByte(body[i:], '<')
		if j < 0 {
			return -1
		}
		i += j
		rest := body[i:]
		var end []byte
		switch {
		case bytes.HasPrefix(rest, []byte("<?")):
			end = []byte("?>")
		case bytes.HasPrefix(rest, []byte("<!--")):
			end = []byte("-->")
		case bytes.HasPrefix(rest, []byte("<!")):
			end = []byte(">")
		default:
			return i
		}
		k := bytes.Index(rest, end)
		if k < 0 {
			return -1
		}
		i += k + len(end)
	}
	return -1
}
