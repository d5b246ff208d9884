package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/herald-news/herald/article"
)

// The multilingual test set (testdata/multilingual), written for Herald:
// Russian, Persian and English articles of a few sentences, topic
// queries, the articles each must match, and the language each article
// is in.
const multilingualDir = "testdata/multilingual"

// readTSV returns the KEY<TAB>VALUE lines of a test-set file, skipping
// comments.
func readTSV(t *testing.T, name string) [][2]string {
	t.Helper()
	f, err := os.Open(filepath.Join(multilingualDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("%s: %q: want KEY<TAB>VALUE", name, line)
		}
		out = append(out, [2]string{k, v})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMultilingualMatch runs the test set through "herald match", the
// articles without their language so that it is detected as at ingest,
// and reports the detection accuracy and the share of queries right.
func TestMultilingualMatch(t *testing.T) {
	articlesPath := filepath.Join(multilingualDir, "articles.jsonl")
	code, stdout, stderr := runQueryCmd(t, "", "match", "--queries", filepath.Join(multilingualDir, "queries.tsv"), "--articles", articlesPath)
	if code != 0 {
		t.Fatalf("herald match: exit %d, stderr %q", code, stderr)
	}
	got := map[string][]string{} // query → the articles it matched
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var m struct{ Article, Query string }
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("output line %q: %v", line, err)
		}
		got[m.Query] = append(got[m.Query], m.Article)
	}
	want := readTSV(t, "want.tsv")
	right := 0
	for _, w := range want {
		expected := strings.Fields(w[1])
		slices.Sort(expected)
		matched := got[w[0]]
		slices.Sort(matched)
		if slices.Equal(matched, expected) {
			right++
		} else {
			t.Errorf("query %s matched %q, want %q", w[0], matched, expected)
		}
	}
	t.Logf("matching: %d of %d queries right (%.0f%%)", right, len(want), 100*float64(right)/float64(len(want)))

	// Detection, as "herald match" and the watcher do it.
	langs := map[string]string{}
	for _, kv := range readTSV(t, "lang.tsv") {
		langs[kv[0]] = kv[1]
	}
	b, err := os.ReadFile(articlesPath)
	if err != nil {
		t.Fatal(err)
	}
	detected, total := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var a matchArticle
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatal(err)
		}
		art := article.Article{Title: a.Title, Text: a.Text}
		art.DetectLang()
		total++
		if art.Lang == langs[a.ID] {
			detected++
		} else {
			t.Errorf("article %s detected as %q, written in %q", a.ID, art.Lang, langs[a.ID])
		}
	}
	t.Logf("language detection: %d of %d articles right", detected, total)
	if total != len(langs) {
		t.Errorf("%d articles, %d languages in lang.tsv", total, len(langs))
	}
}

// TestMatchUsesTheGivenLang: an article's lang field, when given, is the
// one lang: sees; it is not detected again.
func TestMatchUsesTheGivenLang(t *testing.T) {
	dir := t.TempDir()
	queries := filepath.Join(dir, "queries.tsv")
	writeQueryFile(t, queries, "ru\tlang:ru minsk\nen\tlang:en minsk\n")
	code, stdout, stderr := runQueryCmd(t,
		`{"id":"a1","title":"Minsk","text":"Minsk talks went on late into the night, officials in the capital said.","lang":"ru"}`+"\n"+
			`{"id":"a2","title":"Minsk","text":"Minsk talks went on late into the night, officials in the capital said."}`+"\n",
		"match", "--queries", queries, "--articles", "-")
	want := `{"article":"a1","query":"ru"}` + "\n" + `{"article":"a2","query":"en"}` + "\n"
	if code != 0 || stdout != want {
		t.Errorf("exit %d, stdout\n%s\nwant\n%s(stderr %q)", code, stdout, want, stderr)
	}
}
