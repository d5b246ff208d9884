package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// runQueryCmd runs "herald args..." in-process with the given standard input.
func runQueryCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cmdEnv{
		stdin:  strings.NewReader(stdin),
		stdout: &out,
		stderr: &errb,
		getenv: func(string) string { return "" },
	}
	code = run(context.Background(), env, args)
	return code, out.String(), errb.String()
}

func TestQueryCheck(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		stdout   string
		inStderr []string
	}{
		{[]string{"query", "check", "Belarus  |  Minsk"}, 0, "belarus OR minsk\n", nil},
		{[]string{"query", "check", "-Ukraine Lukashenko’s"}, 0, "lukashenko -ukraine\n", nil},
		{[]string{"query", "check", "iran", "drones"}, 0, "drones iran\n", nil},
		{[]string{"query", "check", "--", "-ukraine", "belarus"}, 0, "belarus -ukraine\n", nil},
		{[]string{"query", "check", `“Military Cooperation” title:Iran site:www.Example.com`}, 0, `"military cooperation" site:www.example.com title:iran` + "\n", nil},
		{[]string{"query", "check", "Иран  LANG:RU"}, 0, "lang:ru иран\n", nil},
		{[]string{"query", "check", "lang:fa ايران"}, 0, "lang:fa ایران\n", nil},
		{[]string{"query", "check", "lang:ru lang:en iran"}, 2, "", []string{"at character 9", "at most one lang:"}},
		{[]string{"query", "check", "lang:ru"}, 2, "", []string{"besides lang:"}},
		{[]string{"query", "check", "belarus OR"}, 2, "", []string{"herald query: at character 11", "expected a word, phrase or group after OR"}},
		{[]string{"query", "check", `"military cooperation`}, 2, "", []string{"at character 1", "closing quote"}},
		{[]string{"query", "check", "-ukraine"}, 2, "", []string{"not excluded"}},
		{[]string{"query", "check", "dr*"}, 2, "", []string{"at least 3 letters"}},
		{[]string{"query", "check", strings.Repeat("x", 300)}, 2, "", []string{"at most 256"}},
		{[]string{"query", "check"}, 2, "", []string{"want a QUERY"}},
		{[]string{"query"}, 2, "", []string{"want a subcommand"}},
		{[]string{"query", "validate", "x"}, 2, "", []string{"unknown subcommand"}},
		{[]string{"query", "--help"}, 0, "", []string{"Usage: herald query check QUERY"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := runQueryCmd(t, "", tt.args...)
			if code != tt.code || stdout != tt.stdout {
				t.Errorf("exit %d, stdout %q; want %d, %q (stderr %q)", code, stdout, tt.code, tt.stdout, stderr)
			}
			for _, s := range tt.inStderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr %q does not say %q", stderr, s)
				}
			}
			if tt.code == 2 && strings.Count(strings.TrimSpace(stderr), "\n") > 0 && !strings.Contains(stderr, "Usage") {
				t.Errorf("stderr is more than one line: %q", stderr)
			}
		})
	}
}

func TestQueryMatch(t *testing.T) {
	dir := t.TempDir()
	queries := filepath.Join(dir, "queries.tsv")
	articles := filepath.Join(dir, "articles.jsonl")
	writeQueryFile(t, queries, "# topics\n"+
		"q1\tBelarus\n"+
		"q2\t\"military cooperation\"\n"+
		"q3\tzimbabwe\n"+
		"q4\tdrone -nato\n"+
		"\n"+
		"q5\tsite:example.org title:minsk\n"+
		"q6\tBelarus\n")
	writeQueryFile(t, articles,
		`{"id":"a1","url":"https://news.example.org/1","title":"Minsk talks","text":"Belarus’ army and Iran discussed military cooperation and drones."}`+"\n"+
			`{"id":"a2","url":"https://other.example/2","title":"NATO","text":"Drones over the Baltic, NATO says."}`+"\n"+
			`{"id":"a3","url":"","title":"","text":"Nothing here."}`+"\n")

	// An article's matches come in no particular order (SPEC promises
	// none): the lines are compared sorted; only a1 matches.
	sorted := func(s string) string {
		lines := strings.SplitAfter(s, "\n")
		slices.Sort(lines)
		return strings.Join(lines, "")
	}
	code, stdout, stderr := runQueryCmd(t, "", "match", "--queries", queries, "--articles", articles)
	stdout = sorted(stdout)
	want := `{"article":"a1","query":"q1"}
{"article":"a1","query":"q2"}
{"article":"a1","query":"q4"}
{"article":"a1","query":"q5"}
{"article":"a1","query":"q6"}
`
	if code != 0 || stdout != want {
		t.Errorf("exit %d, stdout\n%s\nwant\n%s(stderr %q)", code, stdout, want, stderr)
	}

	// Articles from standard input.
	b, _ := os.ReadFile(articles)
	code, stdout, _ = runQueryCmd(t, string(b), "match", "--articles", "-", "--queries", queries)
	if code != 0 || sorted(stdout) != want {
		t.Errorf("from stdin: exit %d, stdout %q", code, stdout)
	}
}

func TestQueryMatchBadInput(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.tsv")
	writeQueryFile(t, good, "q1\tbelarus\n")
	badQuery := filepath.Join(dir, "bad.tsv")
	writeQueryFile(t, badQuery, "q1\tbelarus\nq2\tbelarus OR\n")
	noTab := filepath.Join(dir, "notab.tsv")
	writeQueryFile(t, noTab, "just a query\n")
	articles := filepath.Join(dir, "a.jsonl")
	writeQueryFile(t, articles, `{"id":"a1","text":"Belarus"}`+"\n")
	badJSON := filepath.Join(dir, "bad.jsonl")
	writeQueryFile(t, badJSON, `{"id":"a1","text":"Belarus"}`+"\n{not json\n")

	tests := []struct {
		name     string
		args     []string
		inStderr string
	}{
		{"bad query", []string{"match", "--queries", badQuery, "--articles", articles}, "bad.tsv:2: query q2: at character 11"},
		{"no tab", []string{"match", "--queries", noTab, "--articles", articles}, "notab.tsv:1: want ID<TAB>QUERY"},
		{"bad json", []string{"match", "--queries", good, "--articles", badJSON}, "article 2"},
		{"missing flag", []string{"match", "--queries", good}, "want both"},
		{"missing file", []string{"match", "--queries", filepath.Join(dir, "none"), "--articles", articles}, "queries:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runQueryCmd(t, "", tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.inStderr) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.inStderr)
			}
		})
	}
}

func writeQueryFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
