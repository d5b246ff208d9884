package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/herald-news/herald/config"
	"github.com/herald-news/herald/extract"
	"github.com/herald-news/herald/fetch"
)

// maxPage is the most HTML read from a file, as from the network: SPEC's
// 10 MiB, counted after gunzip so a small .gz cannot expand without bound.
const maxPage = fetch.DefaultMaxBody

// extractOutput is the JSON object "herald extract" prints; SPEC.md names
// its keys. published is RFC 3339 UTC, or null.
type extractOutput struct {
	Title     string  `json:"title"`
	Byline    string  `json:"byline"`
	Published *string `json:"published"`
	SiteName  string  `json:"site_name"`
	Lang      string  `json:"lang"`
	Text      string  `json:"text"`
}

// runExtract implements "herald extract FILE|URL [--url PAGE_URL]"; see SPEC.md.
func runExtract(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("extract", "extract FILE|URL [--url PAGE_URL]\n\nExtracts the article from an HTML page (a .gz file is gunzipped) and prints\none JSON object: title, byline, published, site_name, lang, text.", env.stderr)
	pageURL := fs.String("url", "", "the page's own `URL`, to resolve its links (default: the URL fetched)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usagef("want one FILE or URL, got %d arguments", len(pos))
	}
	if *pageURL != "" {
		if u, err := url.Parse(*pageURL); err != nil || !u.IsAbs() {
			return usagef("--url %q is not an absolute URL", *pageURL)
		}
	}
	src := pos[0]

	var page []byte
	if isWebURL(src) {
		page, err = fetchPage(ctx, env, src, pageURL)
	} else {
		page, err = readPage(src)
	}
	if err != nil {
		return err
	}

	res, extractErr := extract.FromHTML(page, *pageURL)
	if res == nil {
		// Not HTML we can read, or no article in it: bad input.
		return usagef("%s: %v", src, extractErr)
	}
	out := extractOutput{
		Title:    res.Title,
		Byline:   res.Byline,
		SiteName: res.SiteName,
		Lang:     res.Lang,
		Text:     res.Text,
	}
	if res.Published != nil {
		s := res.Published.UTC().Format(time.RFC3339)
		out.Published = &s
	}
	enc := json.NewEncoder(env.stdout)
	// The text is printed for people and programs, not embedded in HTML.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if extractErr != nil {
		// The metadata is printed for what it is worth, but a page without
		// article text is still bad input.
		return usagef("%s: %v", src, extractErr)
	}
	return nil
}

func isWebURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// readPage reads a file, gunzipping a .gz one, up to maxPage bytes.
func readPage(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, usagef("%v", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(strings.ToLower(name), ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, usagef("%s: %v", name, err)
		}
		defer zr.Close()
		r = zr
	}
	page, err := io.ReadAll(io.LimitReader(r, maxPage+1))
	if err != nil {
		return nil, usagef("%s: %v", name, err)
	}
	if len(page) > maxPage {
		return nil, usagef("%s: page larger than %d MiB", name, maxPage>>20)
	}
	return page, nil
}

// fetchPage gets a page with Herald's fetcher (size and time limits, and
// the private-address guard unless HERALD_ALLOW_PRIVATE_FEEDS is on). When
// --url was not given, the page URL becomes the one finally fetched.
func fetchPage(ctx context.Context, env *cmdEnv, src string, pageURL *string) ([]byte, error) {
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
		if errors.As(err, &st) || errors.Is(err, fetch.ErrPrivateAddress) || errors.Is(err, fetch.ErrScheme) || errors.Is(err, fetch.ErrTooLarge) {
			return nil, usagef("%v", err)
		}
		return nil, err
	}
	if *pageURL == "" {
		*pageURL = resp.FinalURL
	}
	body := resp.Body
	if bytes.HasPrefix(body, []byte("\x1f\x8b")) {
		// Served as a .gz file rather than gzip-encoded.
		if zr, err := gzip.NewReader(bytes.NewReader(body)); err == nil {
			if b, err := io.ReadAll(io.LimitReader(zr, maxPage+1)); err == nil && len(b) <= maxPage {
				body = b
			}
		}
	}
	return extract.ToUTF8(body, resp.Charset), nil
}
