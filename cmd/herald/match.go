package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/subscriptions"
)

const matchSynopsis = `match --queries FILE --articles FILE

Matches articles against topic queries offline, with the same index and
semantics as the service. The queries file has one query a line,
ID<TAB>QUERY (empty lines and lines starting with # are skipped); the
articles file has one JSON object a line with id, url, title and text
("-" reads standard input). Prints {"article": ID, "query": ID} for each
match, in the order of the articles, query ids sorted.`

// matchOutput is one line of "herald match"; SPEC.md names these keys.
type matchOutput struct {
	Article string `json:"article"`
	Query   string `json:"query"`
}

// matchArticle is one line of the articles file.
type matchArticle struct {
	ID    string `json:"id"`
	URL   string `json:"url"`
	Title string `json:"title"`
	Text  string `json:"text"`
}

// runMatch implements "herald match"; see SPEC.md.
func runMatch(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("match", matchSynopsis, env.stderr)
	queriesPath := fs.String("queries", "", "file of `ID<TAB>QUERY` lines")
	articlesPath := fs.String("articles", "", "file of JSON lines with id, url, title, text (- for standard input)")
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
	out := bufio.NewWriter(env.stdout)
	enc := json.NewEncoder(out)
	dec := json.NewDecoder(bufio.NewReader(in))
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		var a matchArticle
		if err := dec.Decode(&a); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return usagef("articles %s: article %d: %v", *articlesPath, n, err)
		}
		// Matched as the service matches a stored article.
		art := article.Article{ID: a.ID, URL: a.URL, Title: a.Title, Text: a.Text}
		ids := ix.Match(subscriptions.NewDoc(art.Title, art.URL, articles.MatchText(&art)))
		slices.Sort(ids)
		for _, id := range ids {
			if err := enc.Encode(matchOutput{Article: a.ID, Query: id}); err != nil {
				return err
			}
		}
	}
	return out.Flush()
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
