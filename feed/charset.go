package feed

import (
	"bytes"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// xmlDecl finds the encoding in an XML declaration at the start of a document.
var xmlDecl = regexp.MustCompile(`^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']`)

// toUTF8 returns body as UTF-8, with any XML declaration rewritten to say so,
// so that gofeed (which trusts the declaration and otherwise assumes UTF-8)
// sees one consistent document. The encoding is taken from, in order: a byte
// order mark, the XML declaration, the HTTP charset; a body that is not
// valid UTF-8 and names no usable encoding is read as windows-1252, the
// encoding such documents are written in overwhelmingly often.
func toUTF8(body []byte, httpCharset string) []byte {
	switch {
	case bytes.HasPrefix(body, []byte("\xef\xbb\xbf")):
		body = body[3:]
		return fixUTF8(rewriteDecl(body))
	case bytes.HasPrefix(body, []byte("\xff\xfe")), bytes.HasPrefix(body, []byte("\xfe\xff")):
		dec := unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewDecoder()
		out, _, err := transform.Bytes(dec, body)
		if err != nil {
			return nil
		}
		return fixUTF8(rewriteDecl(out))
	}

	label := ""
	if m := xmlDecl.FindSubmatch(head(body)); m != nil {
		label = string(m[1])
	}
	httpCharset = strings.ToLower(strings.TrimSpace(httpCharset))
	// A declaration claiming a single-byte encoding on a body that is valid
	// UTF-8 with multi-byte sequences, served as UTF-8, was converted by
	// some tool that left the declaration behind: real ISO-8859 text is
	// almost never valid UTF-8 by accident.
	if label != "" && !isUTF8Label(label) && isUTF8Label(httpCharset) && utf8.Valid(body) && hasMultibyte(body) {
		label = "utf-8"
	}
	if label == "" {
		label = httpCharset
	}
	if label == "" || isUTF8Label(label) {
		if !utf8.Valid(body) && !hasMultibyte(body) {
			// Not one valid multi-byte sequence: a legacy encoding mislabelled.
			return decode(charmap.Windows1252, body)
		}
		// The declaration may name another encoding we decided against.
		return fixUTF8(rewriteDecl(body))
	}
	enc, _ := charset.Lookup(label)
	if enc == nil {
		if utf8.Valid(body) {
			return rewriteDecl(body)
		}
		enc = charmap.Windows1252
	}
	return decode(enc, body)
}

func decode(enc encoding.Encoding, body []byte) []byte {
	out, _, err := transform.Bytes(enc.NewDecoder(), body)
	if err != nil {
		out = bytes.ToValidUTF8(body, []byte("\uFFFD"))
	}
	return fixUTF8(rewriteDecl(out))
}

// fixUTF8 replaces stray invalid bytes so one bad byte does not lose a feed.
func fixUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	return bytes.ToValidUTF8(b, []byte("\uFFFD"))
}

// rewriteDecl makes an XML declaration say UTF-8, since the body now is.
func rewriteDecl(b []byte) []byte {
	m := xmlDecl.FindSubmatchIndex(head(b))
	if m == nil {
		return b
	}
	out := make([]byte, 0, len(b))
	out = append(out, b[:m[2]]...)
	out = append(out, "UTF-8"...)
	return append(out, b[m[3]:]...)
}

func head(b []byte) []byte {
	if len(b) > 512 {
		return b[:512]
	}
	return b
}

func isUTF8Label(l string) bool {
	l = strings.ToLower(l)
	return l == "utf-8" || l == "utf8" || l == "unicode-1-1-utf-8"
}

// hasMultibyte reports whether b holds at least one valid multi-byte UTF-8
// sequence, the sign that a body is UTF-8 even if a few bytes are broken.
func hasMultibyte(b []byte) bool {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError && n > 1 {
			return true
		}
		i += n
	}
	return false
}
