package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// jsonEscapes are strings that need escaping in JSON, or look as if they
// might: quotes, backslashes, every control character, non-ASCII, the two
// line separators JavaScript refuses, bytes that are not UTF-8.
var jsonEscapes = []string{
	"", "plain", `say "hi"`, `back\slash`, `\"`, "tab\there", "new\nline", "cr\rlf\n",
	"\x00nul", "\x01\x02\x1f\x7f", "\b\f", "naïve café", "Мінск", "日本語", "emoji 🛰️",
	"sep\u2028para\u2029end", "<tag>&amp;", "bad \xff byte", "cut \xe2\x82 rune", "\xc0\xaf overlong",
	strings.Repeat(`"\`, 50),
}

// Every string comes out as encoding/json writes it (with HTML escaping
// off, which JSON does not need) and reads back as the same string.
func TestAppendJSONString(t *testing.T) {
	var all []string
	all = append(all, jsonEscapes...)
	for c := range 0x80 {
		all = append(all, "x"+string(rune(c))+"y")
	}
	for _, s := range all {
		checkJSONString(t, s)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonEscapes {
		f.Add(s)
	}
	f.Fuzz(checkJSONString)
}

func checkJSONString(t *testing.T, s string) {
	got := appendJSONString(nil, s)
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	if string(got) != strings.TrimSuffix(want.String(), "\n") {
		t.Errorf("appendJSONString(%q) = %s, encoding/json writes %s", s, got, want.String())
	}
	var back string
	if err := json.Unmarshal(got, &back); err != nil || back != fixUTF8(s) {
		t.Errorf("appendJSONString(%q) = %s reads back as %q, %v", s, got, back, err)
	}
}

// fixUTF8 replaces each byte that is not UTF-8 with U+FFFD, as
// encoding/json does (strings.ToValidUTF8 replaces a run with one).
func fixUTF8(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

// Query and article ids that need escaping come out as lines that
// encoding/json reads back as the ids, each match once, articles in
// their order; --count gives each article's number of matches.
func TestMatchOutputEscapes(t *testing.T) {
	dir := t.TempDir()
	queries := filepath.Join(dir, "queries.tsv")
	arts := filepath.Join(dir, "articles.jsonl")
	// A query id is anything on its line before the tab.
	qids := []string{`q"1`, `q\2`, "q\x01three", "q\x7f", "ключ", "😀", "q\u2028", "q<&>", "q \xff"}
	var qf strings.Builder
	for _, id := range qids {
		qf.WriteString(id + "\tbelarus\n")
	}
	qf.WriteString("other\tzimbabwe\n")
	writeQueryFile(t, queries, qf.String())
	aids := []string{"a\"1\\\n", "статья", "a3 \t\x02", "a4"}
	var af strings.Builder
	for i, id := range aids {
		text := "Belarus tested new drones."
		if i == 2 {
			text = "Nothing here."
		}
		b, _ := json.Marshal(map[string]string{"id": id, "url": "https://news.example/" + id, "title": "News", "text": text})
		af.Write(append(b, '\n'))
	}
	writeQueryFile(t, arts, af.String())

	code, stdout, stderr := runQueryCmd(t, "", "match", "--queries", queries, "--articles", arts)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := map[string][]string{}
	var order []string
	for _, line := range strings.SplitAfter(stdout, "\n") {
		if line == "" {
			continue
		}
		var m struct{ Article, Query string }
		if err := json.Unmarshal([]byte(line), &m); err != nil || !strings.HasSuffix(line, "}\n") {
			t.Fatalf("line %q does not parse: %v", line, err)
		}
		if len(order) == 0 || order[len(order)-1] != m.Article {
			order = append(order, m.Article)
		}
		got[m.Article] = append(got[m.Article], m.Query)
	}
	wantIDs := make([]string, len(qids))
	for i, id := range qids {
		wantIDs[i] = fixUTF8(id)
	}
	slices.Sort(wantIDs)
	if want := []string{aids[0], aids[1], aids[3]}; !slices.Equal(order, want) {
		t.Errorf("articles in the order %q, want %q", order, want)
	}
	for _, a := range []string{aids[0], aids[1], aids[3]} {
		slices.Sort(got[a])
		if !slices.Equal(got[a], wantIDs) {
			t.Errorf("article %q matched %q, want %q", a, got[a], wantIDs)
		}
	}

	code, stdout, stderr = runQueryCmd(t, "", "match", "--count", "--queries", queries, "--articles", arts)
	if code != 0 {
		t.Fatalf("--count: exit %d: %s", code, stderr)
	}
	var counts []struct {
		Article string
		Matches int
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	for dec.More() {
		var c struct {
			Article string
			Matches int
		}
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("--count output %q: %v", stdout, err)
		}
		counts = append(counts, c)
	}
	if len(counts) != len(aids) || strings.Count(stdout, "\n") != len(aids) {
		t.Fatalf("--count printed %q, want one line per article", stdout)
	}
	for i, c := range counts {
		want := len(qids)
		if i == 2 {
			want = 0
		}
		if c.Article != aids[i] || c.Matches != want {
			t.Errorf("--count line %d = %+v, want article %q with %d matches", i, c, aids[i], want)
		}
	}
	if !strings.HasSuffix(stdout, `{"article":"a4","matches":9}`+"\n") {
		t.Errorf("--count's last line is not {\"article\":\"a4\",\"matches\":9}: %q", stdout)
	}
}
