package smtptest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"time"
)

// Message is one accepted message.
type Message struct {
	// From and To are the envelope (MAIL FROM, RCPT TO).
	From string
	To   []string
	// Helo is the name the client gave in EHLO; SMTPUTF8 is whether its
	// MAIL FROM asked for SMTPUTF8 (RFC 6531).
	Helo     string
	SMTPUTF8 bool
	// Data is the message exactly as received (CRLF line ends).
	Data []byte
	// Header is the parsed top-level header; Subject is its Subject,
	// RFC 2047-decoded.
	Header  mail.Header
	Subject string
	// Text and HTML are the first text/plain and text/html parts that are
	// not attachments (or the body itself), transfer-decoded, with "\n"
	// line ends. Parts lists every leaf part as received.
	Text  string
	HTML  string
	Parts []Part
	// Conn is the number of the connection that carried the message
	// (1 for the first the server accepted).
	Conn     int
	Received time.Time
	// Err is set when the data could not be parsed as a MIME message.
	Err error
}

// Part is one leaf MIME part, transfer-decoded.
type Part struct {
	ContentType string // media type, e.g. "text/plain"
	Params      map[string]string
	Filename    string
	Header      map[string][]string
	Body        []byte
}

// HeaderValue returns a header field's first value, RFC 2047-decoded.
func (m *Message) HeaderValue(name string) string {
	return decodeWords(m.Header.Get(name))
}

// Link returns the first URL in the text part that starts with prefix, or
// "" if there is none. When the text part has none, the HTML part's href
// attributes are searched. Tests use it to follow confirmation links.
func (m *Message) Link(prefix string) string {
	if u := findURL(m.Text, prefix); u != "" {
		return u
	}
	for _, match := range hrefRE.FindAllStringSubmatch(m.HTML, -1) {
		if u := html.UnescapeString(match[1]); strings.HasPrefix(u, prefix) {
			return u
		}
	}
	return ""
}

var hrefRE = regexp.MustCompile(`(?i)href\s*=\s*"([^"]*)"`)

// findURL finds prefix in text and extends it to the end of the URL.
func findURL(text, prefix string) string {
	if prefix == "" {
		return ""
	}
	for from := 0; ; {
		i := strings.Index(text[from:], prefix)
		if i < 0 {
			return ""
		}
		start := from + i
		// The prefix must start a URL, not sit inside another one.
		if start > 0 && !strings.ContainsRune(" \t\r\n<(\"'[", rune(text[start-1])) {
			from = start + 1
			continue
		}
		end := start + len(prefix)
		for end < len(text) && !strings.ContainsRune(" \t\r\n<>\"'`", rune(text[end])) {
			end++
		}
		return strings.TrimRight(text[start:end], ".,;:!?)]")
	}
}

var wordDecoder = mime.WordDecoder{CharsetReader: func(charset string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "us-ascii":
		return r, nil
	case "iso-8859-1", "latin1":
		b, err := io.ReadAll(r)
		rs := make([]rune, len(b))
		for i, c := range b {
			rs[i] = rune(c)
		}
		return strings.NewReader(string(rs)), err
	}
	return nil, fmt.Errorf("charset %q not supported by smtptest", charset)
}}

func decodeWords(s string) string {
	d, err := wordDecoder.DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// parseMessage parses data; a parse failure is kept in Err, never fatal,
// so that a broken message is still captured for the test to look at.
func parseMessage(data []byte) *Message {
	m := &Message{Data: data}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		m.Err = fmt.Errorf("parse message: %w", err)
		return m
	}
	m.Header = msg.Header
	m.Subject = decodeWords(msg.Header.Get("Subject"))
	if err := m.walk(map[string][]string(msg.Header), msg.Body, 0); err != nil {
		m.Err = err
	}
	for _, p := range m.Parts {
		if p.Filename != "" {
			continue
		}
		switch {
		case p.ContentType == "text/plain" && m.Text == "":
			m.Text = strings.ReplaceAll(string(p.Body), "\r\n", "\n")
		case p.ContentType == "text/html" && m.HTML == "":
			m.HTML = strings.ReplaceAll(string(p.Body), "\r\n", "\n")
		}
	}
	return m
}

// walk collects the leaf parts of an entity with header h and body r.
func (m *Message) walk(h map[string][]string, r io.Reader, depth int) error {
	if depth > 20 {
		return fmt.Errorf("MIME nesting deeper than 20")
	}
	get := func(k string) string {
		if v := h[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	ct := get("Content-Type")
	if ct == "" {
		ct = "text/plain; charset=us-ascii"
	}
	media, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("parse Content-Type %q: %w", ct, err)
	}
	if strings.HasPrefix(media, "multipart/") {
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read %s part: %w", media, err)
			}
			if err := m.walk(map[string][]string(p.Header), p, depth+1); err != nil {
				return err
			}
		}
	}
	body, err := decodeTransfer(get("Content-Transfer-Encoding"), r)
	if err != nil {
		return err
	}
	part := Part{ContentType: media, Params: params, Header: h, Body: body}
	if _, dp, err := mime.ParseMediaType(get("Content-Disposition")); err == nil {
		part.Filename = decodeWords(dp["filename"])
	}
	if part.Filename == "" {
		part.Filename = decodeWords(params["name"])
	}
	m.Parts = append(m.Parts, part)
	return nil
}

func decodeTransfer(cte string, r io.Reader) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		b, err := io.ReadAll(quotedprintable.NewReader(r))
		if err != nil {
			return nil, fmt.Errorf("decode quoted-printable: %w", err)
		}
		return b, nil
	case "base64":
		raw, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		clean := strings.Map(func(c rune) rune {
			if c == '\r' || c == '\n' || c == ' ' || c == '\t' {
				return -1
			}
			return c
		}, string(raw))
		b, err := base64.StdEncoding.DecodeString(clean)
		if err != nil {
			return nil, fmt.Errorf("decode base64: %w", err)
		}
		return b, nil
	default: // 7bit, 8bit, binary
		return io.ReadAll(r)
	}
}
