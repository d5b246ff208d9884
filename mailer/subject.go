package mailer

import (
	"mime"
	"strings"
)

// encodeSubject gives the Subject field's value, already folded. go-mail
// folds an encoded subject so that the field's first line is empty
// ("Subject:" CRLF " =?UTF-8?q?…"), which decoders that keep the folding
// white space (Python's email package, for one) read with a leading space.
// Here the first encoded word stays on the field's line, and the others
// follow on their own lines: white space between encoded words is not part
// of the text (RFC 2047, section 6.2), so the subject decodes exactly.
func encodeSubject(s string) string {
	enc := mime.QEncoding.Encode("UTF-8", s)
	if enc == s {
		// Plain ASCII: fold at spaces so that lines stay under 78.
		return fold(s, len("Subject: "))
	}
	// The encoder splits long text into words of at most 75 characters,
	// never inside a character, with a space between words.
	return strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}

// fold breaks s at spaces into lines of at most 78 characters, the first
// of which already holds used characters.
func fold(s string, used int) string {
	var b strings.Builder
	n := used
	for i, w := range strings.Split(s, " ") {
		if i > 0 {
			if n+1+len(w) > 78 {
				b.WriteString("\r\n")
				n = 0
			}
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}
