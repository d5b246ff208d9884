package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/feed"
)

// runParseCmd runs "herald parse args..." in-process with the given environment.
func runParseCmd(t *testing.T, envVars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cmdEnv{
		stdin:  strings.NewReader(""),
		stdout: &out,
		stderr: &errb,
		getenv: func(k string) string { return envVars[k] },
	}
	code = run(context.Background(), env, append([]string{"parse"}, args...))
	return code, out.String(), errb.String()
}

// parseLines decodes the JSON lines and checks each has exactly SPEC's keys.
func parseLines(t *testing.T, stdout string) []parseOutput {
	t.Helper()
	wantKeys := []string{"author", "categories", "id", "published", "summary", "title", "url"}
	var items []parseOutput
	for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		if line == "" {
			continue
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			t.Fatalf("line is not a JSON object: %v\n%s", err, line)
		}
		var keys []string
		for k := range raw {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, wantKeys) {
			t.Fatalf("keys %v, want exactly %v", keys, wantKeys)
		}
		if string(raw["categories"]) == "null" {
			t.Errorf("categories printed as null: %s", line)
		}
		var item parseOutput
		if err := json.Unmarshal([]byte(line), &item); err != nil {
			t.Fatal(err)
		}
		if item.Published != nil {
			p, err := time.Parse(time.RFC3339, *item.Published)
			if err != nil || p.Location() != time.UTC || !strings.HasSuffix(*item.Published, "Z") {
				t.Errorf("published %q is not RFC 3339 UTC", *item.Published)
			}
		}
		items = append(items, item)
	}
	return items
}

// TestParseCorpus runs "herald parse" on every feed of the shared corpus and
// checks it prints what feed.Parse returns, in SPEC's shape. How those items
// compare with feed-rs's parses (and every accepted difference) is
// feed.TestCorpus.
func TestParseCorpus(t *testing.T) {
	const dir = "../../../shared/corpora/feeds"
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("feed corpus not found at %s (it lives beside the module in the shared workspace): %v", dir, err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
	n := 0
	for _, path := range files {
		if strings.HasSuffix(path, ".serde.json") {
			continue
		}
		n++
		t.Run(filepath.Base(path), func(t *testing.T) {
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runParseCmd(t, nil, path)
			want, err := feed.Parse(body, "", "")
			if err != nil {
				if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 {
					t.Fatalf("not a feed: want exit 2 and one line on stderr, got %d, %q, %q", code, stdout, stderr)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got := parseLines(t, stdout)
			if len(got) != len(want.Items) {
				t.Fatalf("%d lines, feed.Parse gives %d items", len(got), len(want.Items))
			}
			for i, a := range want.Items {
				g := got[i]
				var wantPub *string
				if a.Published != nil {
					s := a.Published.Format(time.RFC3339)
					wantPub = &s
				}
				if g.ID != a.ID || g.URL != a.URL || g.Title != a.Title || g.Author != a.Author ||
					g.Summary != a.Summary || !reflect.DeepEqual(g.Published, wantPub) || !slices.Equal(g.Categories, a.Categories) {
					t.Errorf("line %d: %+v\nwant %+v", i, g, a)
				}
			}
		})
	}
	if n == 0 {
		t.Skipf("no feeds under %s", dir)
	}
}

func TestParseURL(t *testing.T) {
	const rss = `<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel><title>t</title><link>/</link>` +
		`<item><title>old</title><link>/old</link><pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate></item>` +
		`<item><title>new</title><link>/new</link><pubDate>Tue, 02 Jan 2024 10:00:00 +0200</pubDate><category>a</category></item>` +
		`</channel></rss>`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/feed":
			w.Header().Set("Content-Type", "application/rss+xml")
			w.Write([]byte(rss))
		case "/moved":
			http.Redirect(w, r, "/feed", http.StatusMovedPermanently)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	allow := map[string]string{"HERALD_ALLOW_PRIVATE_FEEDS": "true"}

	code, stdout, stderr := runParseCmd(t, allow, srv.URL+"/moved")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	items := parseLines(t, stdout)
	if len(items) != 2 || items[0].Title != "new" || items[0].URL != srv.URL+"/new" ||
		*items[0].Published != "2024-01-02T08:00:00Z" || !slices.Equal(items[0].Categories, []string{"a"}) {
		t.Errorf("items: %+v", items)
	}

	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
	}{
		{"private refused by default", nil, []string{srv.URL + "/feed"}, 2},
		{"404", allow, []string{srv.URL + "/nope"}, 2},
		{"no argument", nil, nil, 2},
		{"two arguments", nil, []string{"a", "b"}, 2},
		{"missing file", nil, []string{filepath.Join(t.TempDir(), "none.xml")}, 2},
		{"help", nil, []string{"--help"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runParseCmd(t, tt.env, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if code == 2 && (stdout != "" || stderr == "") {
				t.Errorf("stdout %q stderr %q", stdout, stderr)
			}
		})
	}

	notFeed := filepath.Join(t.TempDir(), "page.html")
	os.WriteFile(notFeed, []byte("<html><body>hello</body></html>"), 0o644)
	if code, _, stderr := runParseCmd(t, nil, notFeed); code != 2 || !strings.Contains(stderr, "malformed feed") {
		t.Errorf("HTML page: exit %d, stderr %q", code, stderr)
	}
}

func TestParseAtomEntryDocument(t *testing.T) {
	file := filepath.Join(t.TempDir(), "entry.xml")
	doc := `<?xml version="1.0" encoding="utf-8"?>
<entry xmlns="http://www.w3.org/2005/Atom">
  <title>Single pushed entry</title>
  <link href="https://news.example/single"/>
  <id>urn:uuid:1</id>
  <updated>2026-03-01T10:00:00Z</updated>
</entry>`
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runParseCmd(t, nil, file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	items := parseLines(t, stdout)
	if len(items) != 1 || items[0].Title != "Single pushed entry" || items[0].URL != "https://news.example/single" {
		t.Fatalf("items = %+v", items)
	}
}
