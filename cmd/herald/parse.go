package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/herald-news/herald/config"
	"github.com/herald-news/herald/feed"
	"github.com/herald-news/herald/fetch"
)

// parseOutput is one line of "herald parse"; SPEC.md names exactly these
// keys. published is RFC 3339 UTC, or null.
type parseOutput struct {
	ID         string   `json:"id"`
	URL        string   `json:"url"`
	Title      string   `json:"title"`
	Published  *string  `json:"published"`
	Author     string   `json:"author"`
	Summary    string   `json:"summary"`
	Categories []string `json:"categories"`
}

// runParse implements "herald parse FILE|URL"; see SPEC.md.
func runParse(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("parse", "parse FILE|URL\n\nParses one feed (RSS 0.9x/1.0/2.0, Atom feed or entry, JSON Feed) and prints one JSON object\nper item, newest first: id, url, title, published, author, summary, categories.\nA URL is fetched with private addresses refused unless HERALD_ALLOW_PRIVATE_FEEDS is on.", env.stderr)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usagef("want one FILE or URL, got %d arguments", len(pos))
	}
	src := pos[0]

	var body []byte
	feedURL, contentType := "", ""
	if l := strings.ToLower(src); strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") {
		resp, err := fetchFeed(ctx, env, src)
		if err != nil {
			return err
		}
		body, feedURL = resp.Body, resp.FinalURL
		contentType = resp.ContentType
		if resp.Charset != "" {
			contentType += "; charset=" + resp.Charset
		}
	} else {
		body, err = readFeedFile(src)
		if err != nil {
			return err
		}
	}

	f, err := feed.Parse(body, feedURL, contentType)
	if err != nil {
		return usagef("%s: %v", src, err)
	}
	enc := json.NewEncoder(env.stdout)
	// Output is for people and programs, not embedded in HTML.
	enc.SetEscapeHTML(false)
	for _, a := range f.Items {
		out := parseOutput{
			ID:         a.ID,
			URL:        a.URL,
			Title:      a.Title,
			Author:     a.Author,
			Summary:    a.Summary,
			Categories: a.Categories,
		}
		if out.Categories == nil {
			out.Categories = []string{}
		}
		if a.Published != nil {
			s := a.Published.UTC().Format(time.RFC3339)
			out.Published = &s
		}
		if err := enc.Encode(out); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
	return nil
}

// readFeedFile reads a local feed under the same size cap as a fetched one.
func readFeedFile(name string) ([]byte, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, usagef("%v", err)
	}
	defer fh.Close()
	body, err := io.ReadAll(io.LimitReader(fh, fetch.DefaultMaxBody+1))
	if err != nil {
		return nil, usagef("read %s: %v", name, err)
	}
	if len(body) > fetch.DefaultMaxBody {
		return nil, usagef("%s: larger than %d MiB", name, fetch.DefaultMaxBody>>20)
	}
	return body, nil
}

// fetchFeed gets a feed with Herald's fetcher. What the server or the URL
// did wrong (an error status, a private address, too big, a redirect loop)
// is bad input, exit 2; a network failure is a runtime failure, exit 1.
func fetchFeed(ctx context.Context, env *cmdEnv, src string) (*fetch.Response, error) {
	cfg, err := config.FromEnv(env.getenv)
	if err != nil {
		return nil, usagef("%v", err)
	}
	f := fetch.New(fetch.Options{
		UserAgent:    "Herald (+" + cfg.PublicURL + ")",
		AllowPrivate: cfg.AllowPrivateFeeds,
	})
	defer f.CloseIdleConnections()
	resp, err := f.Get(ctx, src, fetch.Conditional{})
	if err != nil {
		var st *fetch.StatusError
		if errors.As(err, &st) || errors.Is(err, fetch.ErrPrivateAddress) || errors.Is(err, fetch.ErrScheme) ||
			errors.Is(err, fetch.ErrTooLarge) || errors.Is(err, fetch.ErrTooManyRedirects) {
			return nil, usagef("%v", err)
		}
		return nil, err
	}
	return resp, nil
}
