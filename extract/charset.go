package extract

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// declScanLimit is how far into the page we look for a declared charset.
// The HTML standard says 1024 bytes, but real pages put <meta charset> after
// long comments and scripts; 64 KiB finds those and costs little.
const declScanLimit = 64 << 10

// toUTF8 returns the page as UTF-8. Order: a byte-order mark; then the
// declared charset, unless the bytes are valid UTF-8 with non-ASCII text
// (a page saved or re-served as UTF-8 often keeps its old declaration, and
// legacy-encoded text almost never happens to be valid UTF-8); then UTF-8
// when valid; else windows-1252, the web's de-facto default.
func toUTF8(page []byte) ([]byte, error) {
	if enc, name, _ := charset.DetermineEncoding(page, ""); bomPresent(page) {
		if name == "utf-8" {
			return bytes.TrimPrefix(page, []byte("\xef\xbb\xbf")), nil
		}
		return decode(page, enc.NewDecoder())
	}
	valid := utf8.Valid(page)
	declared := declaredCharset(page)
	if declared == "" || declared == "utf-8" || (valid && !isASCII(page)) {
		if valid {
			return page, nil
		}
		if declared == "utf-8" {
			return []byte(strings.ToValidUTF8(string(page), "\uFFFD")), nil
		}
		declared = "windows-1252"
	}
	enc, err := htmlindex.Get(declared)
	if err != nil {
		// An unknown label: the standard's fallback.
		enc, _ = htmlindex.Get("windows-1252")
	}
	if enc == unicode.UTF8 {
		return []byte(strings.ToValidUTF8(string(page), "\uFFFD")), nil
	}
	return decode(page, enc.NewDecoder())
}

func decode(page []byte, t transform.Transformer) ([]byte, error) {
	out, _, err := transform.Bytes(t, page)
	if err != nil {
		return nil, err
	}
	return []byte(strings.ToValidUTF8(string(out), "\uFFFD")), nil
}

func bomPresent(b []byte) bool {
	return bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) ||
		bytes.HasPrefix(b, []byte("\xfe\xff")) || bytes.HasPrefix(b, []byte("\xff\xfe"))
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// declaredCharset finds the canonical name of the charset a page declares
// in <meta charset> or <meta http-equiv=Content-Type>, or "".
func declaredCharset(page []byte) string {
	if len(page) > declScanLimit {
		page = page[:declScanLimit]
	}
	z := html.NewTokenizer(bytes.NewReader(page))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if string(name) == "body" {
				return ""
			}
			if string(name) != "meta" || !hasAttr {
				continue
			}
			var cs, content, equiv string
			for {
				k, v, more := z.TagAttr()
				switch strings.ToLower(string(k)) {
				case "charset":
					cs = string(v)
				case "content":
					content = string(v)
				case "http-equiv":
					equiv = string(v)
				}
				if !more {
					break
				}
			}
			if cs == "" && strings.EqualFold(equiv, "content-type") {
				if i := strings.Index(strings.ToLower(content), "charset="); i >= 0 {
					cs = strings.Trim(content[i+len("charset="):], ` "';`)
				}
			}
			if cs = strings.TrimSpace(cs); cs != "" {
				if name, ok := charsetName(cs); ok {
					return name
				}
			}
		}
	}
}

// charsetName maps a charset label to its WHATWG canonical name.
func charsetName(label string) (string, bool) {
	enc, err := htmlindex.Get(label)
	if err != nil {
		return "", false
	}
	name, err := htmlindex.Name(enc)
	if err != nil {
		return "", false
	}
	// The standard treats a UTF-16 declaration inside the bytes as UTF-8:
	// a page that could be read to find it cannot be UTF-16.
	if strings.HasPrefix(name, "utf-16") {
		name = "utf-8"
	}
	return name, true
}

// ToUTF8 applies the charset named by an HTTP Content-Type header, which
// overrides a page's own declaration, and returns UTF-8 bytes for FromHTML.
// A page whose bytes are already valid UTF-8 with non-ASCII text is kept as
// it is (servers often label UTF-8 pages with a legacy default), and so is
// a page under an empty or unknown label.
func ToUTF8(page []byte, httpCharset string) []byte {
	name, ok := charsetName(strings.TrimSpace(httpCharset))
	if !ok || name == "utf-8" || (utf8.Valid(page) && !isASCII(page)) || bomPresent(page) {
		return page
	}
	enc, err := htmlindex.Get(name)
	if err != nil {
		return page
	}
	out, err := decode(page, enc.NewDecoder())
	if err != nil {
		return page
	}
	return out
}
