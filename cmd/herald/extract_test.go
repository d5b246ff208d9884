package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

func runExtractCmd(t *testing.T, envVars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cmdEnv{
		stdin:  strings.NewReader(""),
		stdout: &out,
		stderr: &errb,
		getenv: func(k string) string { return envVars[k] },
	}
	code = run(context.Background(), env, append([]string{"extract"}, args...))
	return code, out.String(), errb.String()
}

const extractTestPage = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Storm hits the coast</title>
<meta name="author" content="By Jane Doe">
<meta property="og:site_name" content="Example News">
<meta property="article:published_time" content="2024-03-04T09:30:00+01:00">
</head><body><nav><a href="/">Home</a> <a href="/world">World</a></nav><article>
<p>A powerful storm struck the northern coast on Monday, flooding streets and cutting power to thousands of homes across the region.</p>
<p>Emergency services said they had rescued dozens of people from cars caught in rising water, and urged residents to stay indoors.</p>
<p>The weather service expects the wind to ease overnight, although heavy rain is likely to continue into Tuesday morning.</p>
</article><footer>Copyright Example News</footer></body></html>`

// decodeExtract checks the output is one JSON object with exactly SPEC's keys.
func decodeExtract(t *testing.T, stdout string) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value:\n%s", stdout)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := []string{"byline", "lang", "published", "site_name", "text", "title"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	return m
}

func TestExtractFile(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "page.html")
	if err := os.WriteFile(plain, []byte(extractTestPage), 0o644); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(extractTestPage))
	zw.Close()
	zipped := filepath.Join(dir, "page.html.gz")
	if err := os.WriteFile(zipped, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{plain}, {zipped}, {zipped, "--url", "https://news.example.com/storm"}, {"--url", "https://news.example.com/storm", plain}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := runExtractCmd(t, nil, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			m := decodeExtract(t, stdout)
			want := map[string]any{
				"title":     "Storm hits the coast",
				"byline":    "Jane Doe",
				"published": "2024-03-04T08:30:00Z",
				"site_name": "Example News",
				"lang":      "en",
			}
			for k, v := range want {
				if m[k] != v {
					t.Errorf("%s = %v, want %v", k, m[k], v)
				}
			}
			text, _ := m["text"].(string)
			if !strings.HasPrefix(text, "A powerful storm") || !strings.Contains(text, "indoors.\n\nThe weather") {
				t.Errorf("text %q", text)
			}
			if strings.Contains(text, "Home") || strings.Contains(text, "Copyright") {
				t.Errorf("navigation or footer in text: %q", text)
			}
		})
	}
}

func TestExtractURL(t *testing.T) {
	ru := "Сильный шторм обрушился на северное побережье в понедельник, затопив улицы и оставив без света тысячи домов по всему региону."
	page := "<html><body><article><h1>Шторм</h1>" + strings.Repeat("<p>"+ru+"</p>", 4) + "</article></body></html>"
	enc, err := charmap.Windows1251.NewEncoder().String(page)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/story", http.StatusMovedPermanently)
			return
		}
		// The charset is only in the header, as many servers send it.
		w.Header().Set("Content-Type", "text/html; charset=windows-1251")
		w.Write([]byte(enc))
	}))
	defer srv.Close()

	allow := map[string]string{"HERALD_ALLOW_PRIVATE_FEEDS": "true"}
	code, stdout, stderr := runExtractCmd(t, allow, srv.URL+"/old")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m := decodeExtract(t, stdout)
	if text, _ := m["text"].(string); !strings.Contains(text, ru) {
		t.Errorf("text not decoded from windows-1251: %q", text)
	}

	// Without HERALD_ALLOW_PRIVATE_FEEDS a loopback server is refused.
	code, stdout, stderr = runExtractCmd(t, nil, srv.URL+"/story")
	if code != 2 || stdout != "" || !strings.Contains(stderr, "private") {
		t.Errorf("loopback URL: exit %d, stdout %q, stderr %q; want exit 2 and a refusal", code, stdout, stderr)
	}
}

func TestExtractBadUsage(t *testing.T) {
	dir := t.TempDir()
	notGzip := filepath.Join(dir, "x.html.gz")
	os.WriteFile(notGzip, []byte("<p>not gzip</p>"), 0o644)
	empty := filepath.Join(dir, "empty.html")
	os.WriteFile(empty, []byte("<html><body></body></html>"), 0o644)
	tests := []struct {
		name string
		args []string
	}{
		{"no argument", nil},
		{"two arguments", []string{"a.html", "b.html"}},
		{"missing file", []string{filepath.Join(dir, "missing.html")}},
		{"relative --url", []string{empty, "--url", "/relative"}},
		{"bad gzip", []string{notGzip}},
		{"no article", []string{empty}},
		{"unknown flag", []string{"--nope", empty}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runExtractCmd(t, nil, tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, stderr)
			}
			if strings.TrimSpace(stderr) == "" {
				t.Error("no message on stderr")
			}
		})
	}
	if code, _, _ := runExtractCmd(t, nil, "--help"); code != 0 {
		t.Errorf("--help: exit %d, want 0", code)
	}
}
