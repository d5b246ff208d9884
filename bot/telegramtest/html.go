package telegramtest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxTextLength is Telegram's limit on a message's text after entity
// parsing. The double counts UTF-16 code units, the unit Telegram uses for
// entity offsets, so an emoji counts twice: a sender that stays under the
// limit here stays under it on Telegram whichever way Telegram counts.
const MaxTextLength = 4096

// Entity is a formatting entity of a message, as Telegram reports it
// (offsets and lengths in UTF-16 code units).
type Entity struct {
	Type          string `json:"type"`
	Offset        int    `json:"offset"`
	Length        int    `json:"length"`
	URL           string `json:"url,omitempty"`
	Language      string `json:"language,omitempty"`
	CustomEmojiID string `json:"custom_emoji_id,omitempty"`
}

// entityErr is a parse failure; its text follows the Bot API's wording
// after "Bad Request: can't parse entities: ".
type entityErr struct{ msg string }

func (e *entityErr) Error() string { return "can't parse entities: " + e.msg }

func parseErr(format string, args ...any) error {
	return &entityErr{msg: fmt.Sprintf(format, args...)}
}

// htmlTags maps each start tag Telegram accepts to the entity type it makes.
var htmlTags = map[string]string{
	"b": "bold", "strong": "bold",
	"i": "italic", "em": "italic",
	"u": "underline", "ins": "underline",
	"s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
	"span": "spoiler", "tg-spoiler": "spoiler",
	"a":          "text_link",
	"code":       "code",
	"pre":        "pre",
	"blockquote": "blockquote",
	"tg-emoji":   "custom_emoji",
}

type openTag struct {
	name       string
	entity     Entity
	start      int // UTF-16 offset in the plain text
	classValue string
}

// parseHTML parses text the way Telegram's HTML parse mode does (modelled on
// tdlib's parse_html) and returns the plain text and its entities, or an
// error worded like Telegram's. With strictAmp, an "&" that does not start a
// known entity is an error; Telegram itself keeps such an "&" literally, but
// in a sender it always means an unescaped outside string.
func parseHTML(text string, strictAmp bool) (string, []Entity, error) {
	if !utf8.ValidString(text) {
		return "", nil, parseErr("strings must be encoded in UTF-8")
	}
	var (
		plain    strings.Builder
		units    int // UTF-16 length of plain so far
		stack    []openTag
		entities []Entity
	)
	appendPlain := func(s string) {
		plain.WriteString(s)
		for _, r := range s {
			units += utf16.RuneLen(r)
		}
	}
	n := len(text)
	at := func(i int) byte {
		if i < n {
			return text[i]
		}
		return 0
	}
	for i := 0; i < n; {
		c := text[i]
		if c == '&' {
			s, size := decodeEntity(text[i:])
			if size == 0 {
				if strictAmp {
					return "", nil, parseErr("unescaped \"&\" at byte offset %d (write &amp;)", i)
				}
				appendPlain("&")
				i++
				continue
			}
			appendPlain(s)
			i += size
			continue
		}
		if c != '<' {
			_, size := utf8.DecodeRuneInString(text[i:])
			appendPlain(text[i : i+size])
			i += size
			continue
		}
		begin := i
		i++
		if at(i) != '/' {
			// A start tag.
			for i < n && !isSpace(text[i]) && text[i] != '>' {
				i++
			}
			if i >= n {
				return "", nil, parseErr("Unclosed start tag at byte offset %d", begin)
			}
			name := strings.ToLower(text[begin+1 : i])
			typ, ok := htmlTags[name]
			if !ok {
				return "", nil, parseErr("Unsupported start tag \"%s\" at byte offset %d", name, begin)
			}
			tag := openTag{name: name, start: units, entity: Entity{Type: typ}}
			for at(i) != '>' {
				for i < n && isSpace(text[i]) {
					i++
				}
				if at(i) == '>' {
					break
				}
				attrBegin := i
				for i < n && !isSpace(text[i]) && text[i] != '=' && text[i] != '>' {
					i++
				}
				attr := strings.ToLower(text[attrBegin:i])
				if attr == "" {
					return "", nil, parseErr("Empty attribute name in the tag \"%s\" at byte offset %d", name, begin)
				}
				for i < n && isSpace(text[i]) {
					i++
				}
				var value string
				if at(i) != '=' {
					// A bare attribute, as in <blockquote expandable>.
					if attr != "expandable" {
						return "", nil, parseErr("Expected equal sign in declaration of an attribute of the tag \"%s\" at byte offset %d", name, begin)
					}
				} else {
					i++
					for i < n && isSpace(text[i]) {
						i++
					}
					if i >= n {
						return "", nil, parseErr("Unclosed start tag at byte offset %d", i-1)
					}
					if q := text[i]; q == '"' || q == '\'' {
						i++
						var v strings.Builder
						for i < n && text[i] != q {
							if text[i] == '&' {
								if s, size := decodeEntity(text[i:]); size > 0 {
									v.WriteString(s)
									i += size
									continue
								}
							}
							v.WriteByte(text[i])
							i++
						}
						if i >= n {
							return "", nil, parseErr("Unclosed start tag at byte offset %d", begin)
						}
						i++ // closing quote
						value = v.String()
					} else {
						tokenBegin := i
						for i < n && (isAlnum(text[i]) || text[i] == '.' || text[i] == '-') {
							i++
						}
						value = strings.ToLower(text[tokenBegin:i])
						if c := at(i); !isSpace(c) && c != '>' {
							return "", nil, parseErr("Unexpected end of name token at byte offset %d", tokenBegin)
						}
					}
				}
				if i >= n {
					return "", nil, parseErr("Unclosed start tag at byte offset %d", begin)
				}
				switch {
				case name == "a" && attr == "href":
					tag.entity.URL = value
				case name == "span" && attr == "class":
					tag.classValue = value
				case name == "code" && attr == "class" && strings.HasPrefix(value, "language-"):
					tag.entity.Language = strings.TrimPrefix(value, "language-")
				case name == "tg-emoji" && attr == "emoji-id":
					tag.entity.CustomEmojiID = value
				case name == "blockquote" && attr == "expandable":
					tag.entity.Type = "expandable_blockquote"
				}
				// Other attributes are ignored, as Telegram ignores them.
			}
			i++ // '>'
			if name == "span" && tag.classValue != "tg-spoiler" {
				return "", nil, parseErr("Tag \"span\" must have class \"tg-spoiler\" at byte offset %d", begin)
			}
			if name == "tg-emoji" {
				if _, err := strconv.ParseInt(tag.entity.CustomEmojiID, 10, 64); err != nil {
					return "", nil, parseErr("Invalid custom emoji identifier specified")
				}
			}
			stack = append(stack, tag)
			continue
		}
		// An end tag.
		if len(stack) == 0 {
			return "", nil, parseErr("Unexpected end tag at byte offset %d", begin)
		}
		i++ // '/'
		for i < n && !isSpace(text[i]) && text[i] != '>' {
			i++
		}
		endName := strings.ToLower(text[begin+2 : i])
		for i < n && isSpace(text[i]) {
			i++
		}
		if at(i) != '>' {
			return "", nil, parseErr("Unclosed end tag at byte offset %d", begin)
		}
		i++
		top := stack[len(stack)-1]
		if endName != "" && endName != top.name {
			return "", nil, parseErr("Unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", begin, top.name, endName)
		}
		stack = stack[:len(stack)-1]
		e := top.entity
		e.Offset, e.Length = top.start, units-top.start
		if e.Type == "text_link" && e.URL == "" {
			continue // Telegram drops a link without a target
		}
		if e.Type == "code" && len(stack) > 0 && stack[len(stack)-1].name == "pre" {
			// <pre><code class="language-x"> is one pre entity with a language.
			stack[len(stack)-1].entity.Language = e.Language
			continue
		}
		e.Language = ""
		if top.name == "pre" {
			e.Language = top.entity.Language
		}
		if e.Length > 0 {
			entities = append(entities, e)
		}
	}
	if len(stack) > 0 {
		return "", nil, parseErr("Can't find end tag corresponding to start tag \"%s\"", stack[len(stack)-1].name)
	}
	return plain.String(), entities, nil
}

// decodeEntity decodes the HTML character reference at the start of s
// (Telegram knows &lt; &gt; &amp; &quot; and numeric ones) and returns its
// text and length in bytes, or size 0 when s does not start with one.
func decodeEntity(s string) (string, int) {
	end := strings.IndexByte(s, ';')
	if end < 2 || end > 12 {
		return "", 0
	}
	name := s[1:end]
	switch name {
	case "lt":
		return "<", end + 1
	case "gt":
		return ">", end + 1
	case "amp":
		return "&", end + 1
	case "quot":
		return "\"", end + 1
	}
	if name[0] != '#' || len(name) < 2 {
		return "", 0
	}
	var (
		v   uint64
		err error
	)
	if name[1] == 'x' || name[1] == 'X' {
		v, err = strconv.ParseUint(name[2:], 16, 32)
	} else {
		v, err = strconv.ParseUint(name[1:], 10, 32)
	}
	if err != nil || v == 0 || v > utf8.MaxRune || (v >= 0xD800 && v <= 0xDFFF) {
		return "", 0
	}
	return string(rune(v)), end + 1
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// utf16Len is the length of s in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}
