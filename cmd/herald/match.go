package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/subscriptions"
)

const matchSynopsis = `match --queries FILE --articles FILE [--count]

Matches articles against topic queries offline, with the same index and
semantics as the service. The queries file has one query a line,
ID<TAB>QUERY (empty lines and lines starting with # are skipped); the
articles file has one JSON object a line with id, url, title, text and,
optionally, lang (ISO 639-1; detected from the title and text when
absent, as the watcher does) ("-" reads standard input). Prints {"article": ID, "query": ID} for each
match, in the order of the articles (an article's matches in no
particular order), or with --count {"article": ID, "matches": N} for each
article.`

// matchArticle is one line of the articles file.
type matchArticle struct {
	ID    string `json:"id"`
	URL   string `json:"url"`
	Title string `json:"title"`
	Text  string `json:"text"`
	Lang  string `json:"lang"`
}

// runMatch implements "herald match"; see SPEC.md.
func runMatch(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("match", matchSynopsis, env.stderr)
	queriesPath := fs.String("queries", "", "file of `ID<TAB>QUERY` lines")
	articlesPath := fs.String("articles", "", "file of JSON lines with id, url, title, text, lang (- for standard input)")
	count := fs.Bool("count", false, "print one line per article with its number of matches")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		fs.Usage()
		return usagef("unexpected arguments %q", pos)
	}
	if *queriesPath == "" || *articlesPath == "" {
		fs.Usage()
		return usagef("want both --queries FILE and --articles FILE")
	}

	ix, err := loadQueries(*queriesPath)
	if err != nil {
		return err
	}

	var in io.Reader = env.stdin
	if *articlesPath != "-" {
		f, err := os.Open(*articlesPath)
		if err != nil {
			return usagef("articles: %v", err)
		}
		defer f.Close()
		in = f
	}
	if err := matchArticles(ctx, ix, in, env.stdout, *count); err != nil {
		var bad badArticle
		if errors.As(err, &bad) {
			return usagef("articles %s: article %d: %v", *articlesPath, bad.n, bad.err)
		}
		return err
	}
	return nil
}

// badArticle is a line of the articles file that does not decode.
type badArticle struct {
	n   int
	err error
}

func (b badArticle) Error() string { return fmt.Sprintf("article %d: %v", b.n, b.err) }

// matchArticles matches each article of in against ix and writes the
// lines of "herald match" to out.
//
// At a million queries an article matches tens of thousands of them, so
// the output, not the index, is the cost: the lines are written by hand
// into the buffer (json.Encoder spent more than the index), and the
// matches are written in the order the index gives them rather than
// sorted (which spent more still); SPEC promises no order within an
// article.
func matchArticles(ctx context.Context, ix *subscriptions.Index, in io.Reader, out io.Writer, count bool) error {
	w := bufio.NewWriterSize(out, 64<<10)
	dec := json.NewDecoder(bufio.NewReader(in))
	var prefix []byte // {"article":ID,"query": for the current article
	var failed error
	asksLang := ix.AsksLang()
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		var a matchArticle
		if err := dec.Decode(&a); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return badArticle{n, err}
		}
		// Matched as the service matches a stored article, whose
		// language the watcher detected. Detecting costs about as much
		// as matching against a million queries: only when one asks.
		art := article.Article{ID: a.ID, URL: a.URL, Title: a.Title, Text: a.Text, Lang: a.Lang}
		if art.Lang == "" && asksLang {
			art.DetectLang()
		}
		doc := subscriptions.NewDocLang(art.Title, art.URL, articles.MatchText(&art), art.Lang)
		prefix = appendJSONString(append(prefix[:0], `{"article":`...), a.ID)
		if count {
			matches := ix.Count(doc)
			b := append(w.AvailableBuffer(), prefix...)
			b = append(strconv.AppendInt(append(b, `,"matches":`...), int64(matches), 10), "}\n"...)
			if _, err := w.Write(b); err != nil {
				return err
			}
			continue
		}
		prefix = append(prefix, `,"query":`...)
		ix.MatchQueries(doc, func(ids subscriptions.IDs) bool {
			for id := range ids.All() {
				// AvailableBuffer lends the writer's own free space: the
				// line is built in place, and Write's copy is onto itself.
				b := append(w.AvailableBuffer(), prefix...)
				b = append(appendJSONString(b, id), "}\n"...)
				if _, failed = w.Write(b); failed != nil {
					return false
				}
			}
			return true
		})
		if failed != nil {
			return failed
		}
	}
	return w.Flush()
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it (without its HTML escaping, which JSON does not need):
// quotes, backslashes and control characters escaped, U+2028 and U+2029
// as \u escapes, and each byte that is not UTF-8 as \ufffd.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0 // s[start:i] is yet to be copied
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(append(b, s[start:i]...), `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			// Valid JSON, but not valid JavaScript in a string literal.
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(append(b, s[start:]...), '"')
}

// loadQueries reads ID<TAB>QUERY lines into an index; a bad line is bad
// input, reported with its line number.
func loadQueries(path string) (*subscriptions.Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("queries: %v", err)
	}
	defer f.Close()
	ix := subscriptions.NewIndex(nil)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, text, ok := strings.Cut(line, "\t")
		if !ok || id == "" {
			return nil, usagef("%s:%d: want ID<TAB>QUERY", path, n)
		}
		q, err := subscriptions.Parse(text)
		if err != nil {
			return nil, usagef("%s:%d: query %s: %v", path, n, id, err)
		}
		ix.Add(id, q)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read queries %s: %w", path, err)
	}
	return ix, nil
}
