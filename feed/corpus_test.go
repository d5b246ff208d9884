package feed

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/article"
)

// corpusDir holds feed-rs's fixtures with its parses beside them
// (.serde.json); see its SOURCE.md. It sits beside the module, not in it.
const corpusDir = "../../shared/corpora/feeds"

// corpusFeeds lists the feed files of the corpus, skipping the test when the
// corpus is not there (a checkout of the module alone).
func corpusFeeds(tb testing.TB) []string {
	tb.Helper()
	if _, err := os.Stat(corpusDir); err != nil {
		tb.Skipf("feed corpus not found at %s (it lives beside the module in the shared workspace): %v", corpusDir, err)
	}
	var files []string
	err := filepath.WalkDir(corpusDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		if strings.HasSuffix(name, ".serde.json") || strings.HasSuffix(name, ".md") || strings.HasPrefix(name, "LICENSE") {
			return nil
		}
		files = append(files, path)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) == 0 {
		tb.Skipf("feed corpus at %s is empty", corpusDir)
	}
	return files
}

// serdeFeed is the part of feed-rs's parse that the comparison uses.
type serdeFeed struct {
	Entries []struct {
		ID    string `json:"id"`
		Title *struct {
			Content string `json:"content"`
		} `json:"title"`
		Links []struct {
			Href string  `json:"href"`
			Rel  *string `json:"rel"`
		} `json:"links"`
		Published *time.Time `json:"published"`
		Updated   *time.Time `json:"updated"`
	} `json:"entries"`
}

// accepted is every difference from feed-rs that Herald makes on purpose.
// A difference not listed fails the test, and so does a listed one that no
// longer occurs, so the table stays exactly the truth. Key: file (relative
// to the corpus), field, and feed-rs's entry id (or "" for the feed).
type acceptedDiff struct {
	file, field, entry string
	reason             string
}

const (
	reasonSynthID = "the feed gives no id: feed-rs makes one up (an MD5), Herald leaves GUID empty " +
		"and identifies the item by article.IDFor(url) instead"
	reasonRelative = "the feed's link is relative: feed-rs keeps it as written, SPEC requires absolute " +
		"URLs resolved against xml:base, the feed's link or its own URL"
	reasonGUIDLink = "the item has no <link>, but its <guid> is a permalink (RSS 2.0: isPermaLink " +
		"defaults to true), which Herald uses as the item's URL so the alert has somewhere to point"
)

var accepted = []acceptedDiff{
	{"rss0/rss_0.91_encoding_2.xml", "id", "d626d1d3de0ad7d9cf7a64619f0f8b57", reasonSynthID},
	{"rss0/rss_0.91_spec_1.xml", "id", "9f7d46f0eb03e1fbbd9a97bd969f574c", reasonSynthID},
	{"rss0/rss_0.91_spec_1.xml", "id", "5b3104d7a7fc52768e9ddb03c21be8b", reasonSynthID},
	{"rss1/rss_1.0_biorxiv.xml", "id", "1018345a23ac71c2e37ed69aac8380b5", reasonSynthID},
	{"rss1/rss_1.0_example_1.xml", "id", "7d61c42a2d8ecf2289e789e1fb2035d1", reasonSynthID},
	{"rss1/rss_1.0_example_1.xml", "id", "e342c1b080da9ffbfd10c0a6ba49395f", reasonSynthID},
	{"rss1/rss_1.0_example_1.xml", "link", "7d61c42a2d8ecf2289e789e1fb2035d1", reasonRelative},
	{"rss1/rss_1.0_example_1.xml", "link", "e342c1b080da9ffbfd10c0a6ba49395f", reasonRelative},
	{"rss1/rss_1.0_iso8859.xml", "id", "3985c2e9c4d581714f4cad55b56c43e8", reasonSynthID},
	{"rss1/rss_1.0_spec_2.xml", "id", "acf7c86547d5d594af6d8f3327e84b06", reasonSynthID},
	{"jsonfeed/jsonfeed_elastic_1.1.json", "id", "8810d2f7e456a8243d4181def10d7808", reasonSynthID},
	{"jsonfeed/jsonfeed_elastic_1.1.json", "id", "da5f31e43f1a3d6d7e7396a756a11730", reasonSynthID},
	{"jsonfeed/jsonfeed_elastic_1.1.json", "id", "e7d8bd50f555c3a53c435287ffe062f0", reasonSynthID},
	{"rss2/rss_2.0_ghost_1.xml", "id", "2f59a536-ebed-4625-9ba0-b79fee6987ac", "the item has no id, link or title: " +
		"feed-rs makes up a random UUID, Herald identifies it by its content (GUID empty)"},
	{"atom/atom_relative.xml", "link", "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a", reasonRelative},
	{"rss2/rss_2.0_spec_1.xml", "link", "http://scriptingnews.userland.com/backissues/2002/09/29#When:12:59:01PM", reasonGUIDLink},
	{"rss2/rss_2.0_spec_1.xml", "link", "http://scriptingnews.userland.com/backissues/2002/09/29#When:6:52:02PM", reasonGUIDLink},
}

// notFeeds are corpus files that are not feeds at all: Parse must say so.
var notFeeds = map[string]string{
	"xml/xml_sample_1.xml": "a book catalogue: well-formed XML that is not RSS, Atom or JSON Feed",
}

// TestCorpus parses every feed of the corpus and compares count, ids, links,
// titles and dates with feed-rs's parse beside it.
func TestCorpus(t *testing.T) {
	used := map[acceptedDiff]bool{}
	isAccepted := func(file, field, entry string) bool {
		for _, a := range accepted {
			if a.file == file && a.field == field && a.entry == entry {
				used[a] = true
				return true
			}
		}
		return false
	}
	for _, path := range corpusFeeds(t) {
		rel, _ := filepath.Rel(corpusDir, path)
		rel = filepath.ToSlash(rel)
		t.Run(rel, func(t *testing.T) {
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(body, "", "")
			if why, ok := notFeeds[rel]; ok {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("%s: want ErrMalformed, got %v", why, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			serdePath := strings.TrimSuffix(path, filepath.Ext(path)) + ".serde.json"
			raw, err := os.ReadFile(serdePath)
			if err != nil {
				t.Fatalf("no expected parse beside it: %v", err)
			}
			var want serdeFeed
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			diff := func(field, entry, format string, args ...any) {
				if !isAccepted(rel, field, entry) {
					t.Errorf("%s of entry %q: %s", field, entry, fmt.Sprintf(format, args...))
				}
			}
			if len(got.Items) != len(want.Entries) {
				diff("count", "", "got %d items, feed-rs %d", len(got.Items), len(want.Entries))
			}
			checkInvariants(t, got)

			matched := map[int]bool{}
			for _, w := range want.Entries {
				wantLink := ""
				for _, l := range w.Links {
					if l.Rel == nil || *l.Rel == "alternate" {
						wantLink = l.Href
						break
					}
				}
				wantTitle := ""
				if w.Title != nil {
					// feed-rs keeps the title's white space and entities as
					// the XML gave them; Herald's titles are plain text on one line.
					wantTitle = collapse(html.UnescapeString(w.Title.Content))
				}
				i := findItem(got.Items, matched, w.ID, wantLink, wantTitle)
				if i < 0 {
					diff("count", w.ID, "no item matches (link %q, title %q)", wantLink, wantTitle)
					continue
				}
				matched[i] = true
				a := got.Items[i]
				if a.GUID != w.ID {
					diff("id", w.ID, "GUID %q", a.GUID)
				}
				if a.URL != wantLink {
					diff("link", w.ID, "got %q, feed-rs %q", a.URL, wantLink)
				}
				if a.Title != wantTitle {
					diff("title", w.ID, "got %q, feed-rs %q", a.Title, wantTitle)
				}
				wantDate := w.Published
				if wantDate == nil {
					wantDate = w.Updated
				}
				switch {
				case wantDate == nil && a.Published == nil:
				case wantDate == nil || a.Published == nil || !wantDate.Equal(*a.Published):
					diff("date", w.ID, "got %v, feed-rs %v", a.Published, wantDate)
				}
			}
		})
	}
	for _, a := range accepted {
		if !used[a] {
			t.Errorf("accepted difference no longer occurs, remove it from the table: %+v", a)
		}
	}
}

// findItem finds the parsed item for a feed-rs entry: by GUID, else by
// link (resolved or not), else by title.
func findItem(items []article.Article, matched map[int]bool, id, link, title string) int {
	for _, pass := range []func(article.Article) bool{
		func(a article.Article) bool { return id != "" && a.GUID == id },
		func(a article.Article) bool {
			return link != "" && (a.URL == link || strings.HasSuffix(a.URL, "/"+strings.TrimLeft(link, "/")))
		},
		func(a article.Article) bool { return a.URL == id },
		func(a article.Article) bool { return a.Title == title },
	} {
		for i, a := range items {
			if !matched[i] && pass(a) {
				return i
			}
		}
	}
	return -1
}

// checkInvariants holds for every parse, corpus or fuzz: what the rest of
// Herald relies on.
func checkInvariants(t testing.TB, f *Feed) {
	t.Helper()
	var prev *time.Time
	undated := false
	for i, a := range f.Items {
		if a.URL != "" {
			if !strings.HasPrefix(a.URL, "http://") && !strings.HasPrefix(a.URL, "https://") {
				t.Errorf("item %d: URL not absolute http(s): %q", i, a.URL)
			}
			if a.ID != article.IDFor(a.URL) {
				t.Errorf("item %d: ID %q is not IDFor(%q)", i, a.ID, a.URL)
			}
		}
		if a.ID == "" {
			t.Errorf("item %d: empty ID", i)
		}
		if a.Published != nil {
			if a.Published.Location() != time.UTC {
				t.Errorf("item %d: date not UTC: %v", i, a.Published)
			}
			if undated {
				t.Errorf("item %d: dated item after an undated one", i)
			}
			if prev != nil && a.Published.After(*prev) {
				t.Errorf("item %d: not newest first: %v after %v", i, a.Published, prev)
			}
			prev = a.Published
		} else {
			undated = true
		}
		if strings.ContainsAny(a.Title, "\n\t") || strings.ContainsAny(a.Summary, "\n\t") {
			t.Errorf("item %d: title or summary not on one line: %q / %q", i, a.Title, a.Summary)
		}
		if a.Categories == nil {
			t.Errorf("item %d: nil categories (prints as null)", i)
		}
	}
	if len(f.Items) > MaxItems {
		t.Errorf("%d items, cap %d", len(f.Items), MaxItems)
	}
}
