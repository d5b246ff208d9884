package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runSummarizeCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cmdEnv{
		stdin:  strings.NewReader(stdin),
		stdout: &out,
		stderr: &errb,
		getenv: func(string) string { return "" },
	}
	code = run(context.Background(), env, append([]string{"summarize"}, args...))
	return code, out.String(), errb.String()
}

const summarizeArticle = "Last update: May 2, 2025\n\nCity logo\n\nThe city council approved a budget for road repairs on Monday after a long session.\n\n" +
	"Residents had complained for years about potholes on the main avenues.\n\n" +
	"Work on the first streets is expected to start in the spring, the mayor's office said.\n\n" +
	"Critics said the money would not be enough to fix the old bridges as well.\n\nShare this article"

func TestSummarizeCommand(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "a.txt")
	os.WriteFile(plain, []byte(summarizeArticle), 0o644)
	story := filepath.Join(dir, "x.story")
	os.WriteFile(story, []byte(summarizeArticle+"\n\n@highlight\n\nHighlight words must not appear in output\n\n@highlight\n\nNor this one"), 0o644)
	html := filepath.Join(dir, "p.html")
	os.WriteFile(html, []byte("<html><body><nav>Menu</nav><p>The council <b>approved</b> a budget for road repairs on Monday.</p><p>Work starts in the spring, officials said.</p></body></html>"), 0o644)

	t.Run("plain file", func(t *testing.T) {
		code, out, errs := runSummarizeCmd(t, "", plain)
		if code != 0 || !strings.HasPrefix(out, "The city council approved") || strings.Contains(out, "Last update") || strings.Contains(out, "Share") {
			t.Errorf("code %d, out %q, err %q", code, out, errs)
		}
	})
	t.Run("stdin and sentences", func(t *testing.T) {
		code, out, _ := runSummarizeCmd(t, summarizeArticle, "--sentences", "1", "-")
		if code != 0 || strings.TrimSpace(out) != "The city council approved a budget for road repairs on Monday after a long session." {
			t.Errorf("code %d, out %q", code, out)
		}
	})
	t.Run("chars after the file", func(t *testing.T) {
		code, out, _ := runSummarizeCmd(t, "", plain, "--chars", "30")
		out = strings.TrimSuffix(out, "\n")
		if code != 0 || len([]rune(out)) > 30 || !strings.HasSuffix(out, "…") {
			t.Errorf("code %d, out %q", code, out)
		}
	})
	t.Run("story uses the article part only", func(t *testing.T) {
		code, out, _ := runSummarizeCmd(t, "", "--sentences", "5", story)
		if code != 0 || strings.Contains(out, "Highlight") || strings.Contains(out, "Nor this") || !strings.Contains(out, "council") {
			t.Errorf("code %d, out %q", code, out)
		}
	})
	t.Run("html", func(t *testing.T) {
		code, out, _ := runSummarizeCmd(t, "", html)
		if code != 0 || strings.TrimSpace(out) != "The council approved a budget for road repairs on Monday. Work starts in the spring, officials said." {
			t.Errorf("code %d, out %q", code, out)
		}
	})
	t.Run("topic", func(t *testing.T) {
		code, out, _ := runSummarizeCmd(t, "", "--sentences", "2", "--topic", "bridge", plain)
		if code != 0 || !strings.Contains(out, "bridges") {
			t.Errorf("code %d, out %q", code, out)
		}
	})
	t.Run("seed", func(t *testing.T) {
		seed := "../../../shared/seed/article.txt"
		if _, err := os.Stat(seed); err != nil {
			t.Skipf("seed article not available: %v", err)
		}
		code, out, _ := runSummarizeCmd(t, "", seed)
		if code != 0 || !strings.Contains(out, "Lukyanovich") || strings.Contains(out, "logo") {
			t.Errorf("code %d, out %q", code, out)
		}
	})
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"no file", nil},
		{"two files", []string{plain, plain}},
		{"missing file", []string{filepath.Join(dir, "nope.txt")}},
		{"bad sentences", []string{"--sentences", "0", plain}},
		{"bad chars", []string{"--chars", "-1", plain}},
		{"not a number", []string{"--sentences", "x", plain}},
		{"empty input", []string{"-"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runSummarizeCmd(t, "  \n", tt.args...)
			if code != 2 || out != "" || errs == "" {
				t.Errorf("code %d, out %q, stderr %q; want exit 2 with a message", code, out, errs)
			}
		})
	}
	t.Run("help", func(t *testing.T) {
		code, _, errs := runSummarizeCmd(t, "", "--help")
		if code != 0 || !strings.Contains(errs, "summarize [--sentences N]") {
			t.Errorf("code %d, stderr %q", code, errs)
		}
	})
}
