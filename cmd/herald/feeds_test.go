package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/fetch"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/watcher"
)

const sampleOPML = `<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Reader export</title></head>
  <body>
    <outline text="News">
      <outline text="Wire &amp; Co &lt;b&gt;" type="rss" xmlUrl="https://wire.example/feed.xml" htmlUrl="https://wire.example/"/>
      <outline text="Daily" type="rss" xmlUrl="https://daily.example/rss?x=1&amp;y=2"/>
    </outline>
    <outline text="Bad" type="rss" xmlUrl="ftp://nope.example/feed"/>
    <outline text="Duplicate" type="rss" xmlUrl="https://wire.example/feed.xml"/>
  </body>
</opml>`

func TestFeedsImportExportRoundTrip(t *testing.T) {
	st := storetest.New(t)
	w := watcher.New(st, fetch.New(fetch.Options{}), 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	list, err := watcher.ReadOPML(strings.NewReader(sampleOPML))
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	env := &cmdEnv{stdout: &out, stderr: &errb}
	if err := importFeeds(ctx, env, w, list, 0); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "imported 2 feeds (0 already watched, 1 skipped)") || !strings.Contains(errb.String(), "ftp://nope.example/feed") {
		t.Fatalf("import said %q / %q", out.String(), errb.String())
	}
	// Importing again adds nothing.
	out.Reset()
	if err := importFeeds(ctx, env, w, list, 0); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "imported 0 feeds (2 already watched") {
		t.Fatalf("second import said %q", out.String())
	}

	out.Reset()
	if err := exportFeeds(ctx, &out, w); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version string `xml:"version,attr"`
		Body    struct {
			Outlines []struct {
				Text string `xml:"text,attr"`
				URL  string `xml:"xmlUrl,attr"`
				Site string `xml:"htmlUrl,attr"`
			} `xml:"outline"`
		} `xml:"body"`
	}
	if err := xml.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("export is not XML: %v\n%s", err, out.String())
	}
	if doc.Version != "2.0" || len(doc.Body.Outlines) != 2 {
		t.Fatalf("export: version %q, %d outlines\n%s", doc.Version, len(doc.Body.Outlines), out.String())
	}
	got := doc.Body.Outlines
	if got[0].URL != "https://daily.example/rss?x=1&y=2" || got[1].URL != "https://wire.example/feed.xml" ||
		got[1].Text != "Wire & Co <b>" || got[1].Site != "https://wire.example/" {
		t.Fatalf("exported outlines %+v", got)
	}
	if strings.Contains(out.String(), "<b>") {
		t.Fatal("a title was written unescaped")
	}
	// The export imports back to the same list.
	again, err := watcher.ReadOPML(bytes.NewReader(out.Bytes()))
	if err != nil || len(again) != 2 || again[1].Title != "Wire & Co <b>" {
		t.Fatalf("re-reading the export: %v %+v", err, again)
	}
}

func TestFeedsImportBadInput(t *testing.T) {
	dir := t.TempDir()
	notOPML := filepath.Join(dir, "x.opml")
	os.WriteFile(notOPML, []byte("<html>no</html>"), 0o600)
	empty := filepath.Join(dir, "empty.opml")
	os.WriteFile(empty, []byte(`<opml version="2.0"><head/><body><outline text="folder"/></body></opml>`), 0o600)
	for _, args := range [][]string{
		{"feeds", "import"},
		{"feeds", "import", filepath.Join(dir, "missing.opml")},
		{"feeds", "import", notOPML},
		{"feeds", "import", empty},
		{"feeds", "export", "extra"},
	} {
		var out, errb bytes.Buffer
		env := &cmdEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		if code := run(context.Background(), env, args); code != 2 || errb.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a reason", args, code, errb.String())
		}
	}
}

func TestAddedLineSaysWhatWasFound(t *testing.T) {
	for _, c := range []struct {
		f    watcher.Feed
		want string
	}{
		{watcher.Feed{URL: "https://a.example/feed.xml", Kind: watcher.KindFeed, Interval: time.Minute}, "watching https://a.example/feed.xml (feed, every 1m0s)"},
		{watcher.Feed{URL: "https://a.example/feed/", Kind: watcher.KindFeed, From: "https://a.example/", Interval: time.Minute}, "watching https://a.example/feed/ (feed, found on https://a.example/, every 1m0s)"},
		{watcher.Feed{URL: "https://b.example/world/", Kind: watcher.KindPage, Interval: time.Hour}, "watching https://b.example/world/ (page, every 1h0m0s)"},
	} {
		if got := addedLine(&c.f); got != c.want {
			t.Errorf("addedLine = %q, want %q", got, c.want)
		}
	}
}

func TestFeedsImportDiscoversASitesFeed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `<html><head><link rel="alternate" type="application/atom+xml" href="/atom.xml"></head><body></body></html>`)
		case "/atom.xml":
			w.Header().Set("Content-Type", "application/atom+xml")
			io.WriteString(w, `<feed xmlns="http://www.w3.org/2005/Atom"><title>Site</title></feed>`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	st := storetest.New(t)
	w := watcher.New(st, fetch.New(fetch.Options{AllowPrivate: true}), 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	opml := `<opml version="2.0"><body><outline text="A site" xmlUrl="` + srv.URL + `/"/></body></opml>`
	list, err := watcher.ReadOPML(strings.NewReader(opml))
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := importFeeds(context.Background(), &cmdEnv{stdout: &out, stderr: &errb}, w, list, 0); err != nil {
		t.Fatal(err)
	}
	feeds, err := w.List(context.Background())
	if err != nil || len(feeds) != 1 || feeds[0].URL != srv.URL+"/atom.xml" || feeds[0].Kind != watcher.KindFeed {
		t.Fatalf("after import: %+v, %v (%s %s)", feeds, err, out.String(), errb.String())
	}
	// Importing the file again, later, finds the feed known.
	st.Redis.HSet(context.Background(), st.Key("feed", feeds[0].ID), "added", time.Now().Add(-time.Hour).Unix())
	out.Reset()
	if err := importFeeds(context.Background(), &cmdEnv{stdout: &out, stderr: &errb}, w, list, 0); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "imported 0 feeds (1 already watched") {
		t.Errorf("second import said %q", out.String())
	}
}
